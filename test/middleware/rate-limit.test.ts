import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LOGIN_FAILURES, PUBLIC_RATE_LIMITS, type PublicScope } from "../../src/services/rate-limit";
import { api, createSubscriber } from "../helpers";
import { T0, time } from "../support/manual-clock";

let ipCounter = 0;
/** A client IP no other test uses (storage is shared by the tests of a file). */
const freshIp = () => `203.0.113.${++ipCounter}`;

const login = (json: unknown, headers: Record<string, string> = {}) => api("/api/auth/login", { json, headers });

// Each of these runs 10 to 40 scrypt verifications: more than the default 5 s on a busy machine.
describe("failed logins per email", { timeout: 30_000 }, () => {
  it("after 10 failures in 15 minutes login is 429 even with the right password, until the window moves on", async () => {
    time.freezeAt(T0);
    const { email, password } = await createSubscriber();
    for (let i = 0; i < LOGIN_FAILURES.limit; i++) {
      time.now = T0 + i * 1000;
      expect((await login({ email, password: "wrong password!!" })).status).toBe(401);
    }
    const locked = await login({ email, password });
    expect(locked.status).toBe(429);
    expect(await locked.json()).toMatchObject({ error: "Rate limit exceeded.", code: "rate_limited" });
    // The first failure (at T0) leaves the 15-minute window at T0 + 900 s; now is T0 + 9 s.
    expect(locked.headers.get("retry-after")).toBe("891");

    time.now = T0 + 900_000 - 1;
    expect((await login({ email, password })).status).toBe(429);
    time.now = T0 + 900_000;
    const unlocked = await login({ email, password });
    expect(unlocked.status).toBe(200);
    expect(await unlocked.json()).toHaveProperty("token");
  });

  it("a successful login clears the count; emails are counted case-insensitively", async () => {
    time.freezeAt(T0);
    const { email, password } = await createSubscriber();
    for (let i = 0; i < LOGIN_FAILURES.limit - 1; i++) {
      expect((await login({ email: email.toUpperCase(), password: "wrong password!!" })).status).toBe(401);
    }
    expect((await login({ email, password })).status).toBe(200);
    for (let i = 0; i < LOGIN_FAILURES.limit; i++) {
      expect((await login({ email, password: "wrong password!!" })).status).toBe(401);
    }
    expect((await login({ email: email.toUpperCase(), password })).status).toBe(429);
  });

  it("40 parallel wrong passwords: exactly 10 are verified (401), the other 30 are 429", async () => {
    time.freezeAt(T0);
    const { email, password } = await createSubscriber();
    const answers = await Promise.all(Array.from({ length: 40 }, () => login({ email, password: "wrong password!!" })));
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LOGIN_FAILURES.limit);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40 - LOGIN_FAILURES.limit);
    expect((await login({ email, password })).status).toBe(429);
  });

  it("one email's lockout does not touch another's", async () => {
    time.freezeAt(T0);
    const victim = await createSubscriber();
    const other = await createSubscriber();
    for (let i = 0; i < LOGIN_FAILURES.limit; i++) await login({ email: victim.email, password: "wrong password!!" });
    expect((await login({ email: victim.email, password: victim.password })).status).toBe(429);
    expect((await login({ email: other.email, password: other.password })).status).toBe(200);
  });
});

const PUBLIC_PATHS: [PublicScope, string][] = [
  ["register", "/api/auth/register"],
  ["confirmEmail", "/api/auth/confirm-email"],
  ["forgotPassword", "/api/auth/forgot-password"],
  ["resetPassword", "/api/auth/reset-password"],
  ["login", "/api/auth/login"],
  ["agentRegister", "/api/agent/register"],
];

describe("public endpoints per client IP", () => {
  it.each(PUBLIC_PATHS)("%s: the limit per IP per minute, then 429 with Retry-After", async (scope, path) => {
    time.freezeAt(T0);
    const { limit } = PUBLIC_RATE_LIMITS[scope];
    const ip = freshIp();
    // An empty body is refused by validation (400) without creating anything, and still counts.
    const send = (clientIp: string) => api(path, { json: {}, headers: { "CF-Connecting-IP": clientIp } });

    const first = await send(ip);
    expect(first.status).toBe(400);
    expect(first.headers.get("ratelimit-limit")).toBe(String(limit));
    expect(first.headers.get("ratelimit-remaining")).toBe(String(limit - 1));
    time.now = T0 + 20_000;
    const rest = await Promise.all(Array.from({ length: limit - 1 }, () => send(ip)));
    expect(rest.map((r) => r.status)).toEqual(Array(limit - 1).fill(400));

    const limited = await send(ip);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ error: "Rate limit exceeded.", code: "rate_limited" });
    expect(limited.headers.get("retry-after")).toBe("40");

    expect((await send(freshIp())).status).toBe(400);
    time.now = T0 + 60_000;
    expect((await send(ip)).status).toBe(400);
  });

  it("each endpoint has its own budget per IP", async () => {
    time.freezeAt(T0);
    const ip = freshIp();
    const headers = { "CF-Connecting-IP": ip };
    await Promise.all(Array.from({ length: 30 }, () => api("/api/auth/forgot-password", { json: {}, headers })));
    expect((await api("/api/auth/forgot-password", { json: {}, headers })).status).toBe(429);
    expect((await api("/api/auth/register", { json: {}, headers })).status).toBe(400);
  });

  it("a request that did not come through Cloudflare's edge (no CF-Connecting-IP) is not counted per IP", async () => {
    const res = await api("/api/auth/forgot-password", { json: { email: "nobody@example.com" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-limit")).toBeNull();
  });
});

describe("IPv6 clients are counted by their /64", () => {
  it("addresses of one /64 share a budget; the next /64 has its own", async () => {
    time.freezeAt(T0);
    const { limit } = PUBLIC_RATE_LIMITS.register;
    const send = (ip: string) => api("/api/auth/register", { json: {}, headers: { "CF-Connecting-IP": ip } });
    const answers = await Promise.all(Array.from({ length: limit }, (_, i) => send(`2001:db8:aa:1:${(i + 1).toString(16)}::1`)));
    expect(answers.map((r) => r.status)).toEqual(Array(limit).fill(400));
    expect((await send("2001:db8:aa:1:ffff:ffff:ffff:fffe")).status).toBe(429);
    expect((await send("2001:db8:aa:2::1")).status).toBe(400);
  });
});

describe("forgot-password per address", () => {
  it("3 an hour per address, known or not, then 429; another address is unaffected", async () => {
    time.freezeAt(T0);
    const { email } = await createSubscriber();
    const forgot = (address: string) => api("/api/auth/forgot-password", { json: { email: address } });
    for (const address of [email, "nobody-per-address@example.com"]) {
      for (let i = 0; i < 3; i++) expect((await forgot(i === 1 ? address.toUpperCase() : address)).status).toBe(200);
      const refused = await forgot(address);
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("3600");
    }
    expect((await forgot("someone-else@example.com")).status).toBe(200);
    time.now = T0 + 60 * 60_000;
    expect((await forgot(email)).status).toBe(200);
  });
});

describe("failed credentials per client IP", () => {
  const withIp = (ip: string, token: string) => ({ token, headers: { "CF-Connecting-IP": ip } });

  it("bogus API keys: 20 × 401, then 429 for that IP, even for a valid key; other IPs are unaffected", async () => {
    time.freezeAt(T0);
    const { token } = await createSubscriber({ plan: "Professional" });
    const { key } = await (await api("/api/apikey", { token, json: { name: "valid" } })).json<{ key: string }>();
    const ip = freshIp();
    const bogus = await Promise.all(Array.from({ length: 20 }, (_, i) => api("/api/account", withIp(ip, `ds_live_bogus${i}`))));
    expect(bogus.map((r) => r.status)).toEqual(Array(20).fill(401));
    const limited = await api("/api/account", withIp(ip, "ds_live_bogus-more"));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect((await api("/api/account", withIp(ip, key))).status).toBe(429);
    expect((await api("/api/account", withIp(freshIp(), key))).status).toBe(200);
    time.now = T0 + 60_000;
    expect((await api("/api/account", withIp(ip, key))).status).toBe(200);
  });

  it("a wrong operator token: 10 × 401, then 429 for that IP, right token included", async () => {
    time.freezeAt(T0);
    const ip = freshIp();
    for (let i = 0; i < 10; i++) expect((await api("/api/admin/outbox", withIp(ip, `guess-${i}`))).status).toBe(401);
    expect((await api("/api/admin/outbox", { headers: { "CF-Connecting-IP": ip } })).status).toBe(429);
    expect((await api("/api/admin/outbox", withIp(ip, env.ADMIN_TOKEN))).status).toBe(429);
    expect((await api("/api/admin/outbox", withIp(freshIp(), env.ADMIN_TOKEN))).status).toBe(200);
  });

  it("a bad agent token on /api/agent/connect: 20 × 401, then 429 for that IP", async () => {
    time.freezeAt(T0);
    const ip = freshIp();
    const connect = (clientIp: string) => api("/api/agent/connect", withIp(clientIp, "ds_agent_not-a-real-token"));
    for (let i = 0; i < 20; i++) expect((await connect(ip)).status).toBe(401);
    expect((await connect(ip)).status).toBe(429);
    expect((await connect(freshIp())).status).toBe(401);
  });
});
