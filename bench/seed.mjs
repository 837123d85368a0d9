// Seeds subscribers the way a customer and the operator would: register, follow the confirmation email
// from the outbox, log in, and have the operator set the plan. Returns one access token per subscriber.
const PASSWORD = "bench-password-7c1e9f";

/** One JSON API call for seeding; throws on any non-2xx. Shared by the bench seeders. */
export async function call(baseUrl, path, { method = "GET", token, json, clientIp } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (json !== undefined) headers["content-type"] = "application/json";
  // Each seeded customer comes from its own address: the public endpoints are limited per IP.
  if (clientIp) headers["cf-connecting-ip"] = clientIp;
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  const body = await res.json();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function seedOne(baseUrl, adminToken, plan, index, runId) {
  const email = `bench-${runId}-${index}@example.com`;
  const clientIp = `198.18.${index >> 8}.${index & 255}`;
  await call(baseUrl, "/api/auth/register", {
    method: "POST",
    json: { forename: "Bench", email, password: PASSWORD, organisationName: `Bench ${index}` },
    clientIp,
  });
  const [confirmation] = await call(baseUrl, `/api/admin/outbox?to=${encodeURIComponent(email)}`, { token: adminToken });
  const confirmToken = new URL(confirmation.text.match(/https?:\/\/\S+/)[0]).searchParams.get("token");
  await call(baseUrl, "/api/auth/confirm-email", { method: "POST", json: { token: confirmToken }, clientIp });
  const { token } = await call(baseUrl, "/api/auth/login", { method: "POST", json: { email, password: PASSWORD }, clientIp });
  const { subscriberId } = await call(baseUrl, "/api/account", { token });
  await call(baseUrl, `/api/admin/subscriber/${subscriberId}/plan`, { method: "PUT", json: { plan }, token: adminToken });
  return { subscriberId, token };
}

/** `count` subscribers on `plan`, a few at a time (registration and login each run scrypt). */
export async function seedSubscribers(baseUrl, adminToken, { count, plan }) {
  const runId = Date.now().toString(36);
  const seeded = [];
  for (let start = 0; start < count; start += 4) {
    const batch = Array.from({ length: Math.min(4, count - start) }, (_, i) => seedOne(baseUrl, adminToken, plan, start + i, runId));
    seeded.push(...(await Promise.all(batch)));
  }
  return seeded;
}
