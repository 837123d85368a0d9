import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type PlanName, PLANS, apiKeys, subscribers, users } from "../../src/db/schema";
import { sha256Hex } from "../../src/lib/crypto";
import { issueAccessToken } from "../../src/services/access-token";
import { LEASE_TTL_MS } from "../../src/services/admission-lease";
import { PLAN_LIMITS } from "../../src/services/plan";
import { tenantLimiter } from "../../src/services/rate-limit";
import { adminToken, api, createSubscriber, db } from "../helpers";
import { subscriberWithAgent } from "../support/agent";
import { T0, time } from "../support/manual-clock";

/** A cheap authenticated GET: every request through it spends one request of the subscriber's budget. */
const PROBE = "/api/bugreport";

/** `count` requests at the current (frozen) clock, all in flight together. */
async function burst(token: string, count: number): Promise<Response[]> {
  return Promise.all(Array.from({ length: count }, () => api(PROBE, { token })));
}

const statuses = (responses: Response[]) => responses.map((r) => r.status);
const countOf = (responses: Response[], status: number) => responses.filter((r) => r.status === status).length;

async function createApiKey(subscriberId: string, userId: string) {
  const key = `ds_live_${crypto.randomUUID().replaceAll("-", "")}${crypto.randomUUID().replaceAll("-", "")}`;
  const apiKeyId = crypto.randomUUID();
  await db()
    .insert(apiKeys)
    .values({ id: apiKeyId, subscriberId, createdByUserId: userId, name: "ci", prefix: key.slice(0, 12), keyHash: await sha256Hex(key), createdAt: new Date(time.now) });
  return { key, apiKeyId };
}

/** The operator's plan change, through the operator API. */
async function setPlan(subscriberId: string, plan: PlanName) {
  const res = await api(`/api/admin/subscriber/${subscriberId}/plan`, { method: "PUT", json: { plan }, token: adminToken() });
  expect(res.status).toBe(200);
}

/** A password reset the way a user does it: forgot-password, the emailed link, reset-password. */
async function resetPassword(email: string) {
  expect((await api("/api/auth/forgot-password", { json: { email } })).status).toBe(200);
  const [mail] = await (await api(`/api/admin/outbox?to=${encodeURIComponent(email)}`, { token: adminToken() })).json<{ text: string }[]>();
  const resetToken = new URL(mail.text.match(/https?:\/\/\S+/)![0]).searchParams.get("token");
  const res = await api("/api/auth/reset-password", { json: { token: resetToken, password: "a brand new passphrase 42" } });
  expect(res.status).toBe(200);
}

// Hundreds of requests per test: generous timeouts for a loaded machine, no timing assertions.
describe("per-subscriber rate limit", { timeout: 60_000 }, () => {
  it.each(PLANS)("%s: exactly the plan's requests per minute succeed, the next one is 429", async (plan) => {
    time.freezeAt(T0);
    const limit = PLAN_LIMITS[plan].requestsPerMinute;
    const { token } = await createSubscriber({ plan });

    const first = await api(PROBE, { token });
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-limit")).toBe(String(limit));
    expect(first.headers.get("ratelimit-remaining")).toBe(String(limit - 1));
    expect(first.headers.get("ratelimit-reset")).toBe("60");

    // Spread over the minute: the rest at +59 s, still inside the window opened by the first.
    time.now = T0 + 59_000;
    const rest: Response[] = [];
    for (let sent = 1; sent < limit; sent += 50) rest.push(...(await burst(token, Math.min(50, limit - sent))));
    expect(countOf(rest, 200)).toBe(limit - 1);
    expect(rest.map((r) => Number(r.headers.get("ratelimit-remaining"))).sort((a, b) => a - b)).toEqual(
      Array.from({ length: limit - 1 }, (_, i) => i),
    );

    const over = await api(PROBE, { token });
    expect(over.status).toBe(429);
    const body = await over.json<Record<string, unknown>>();
    expect(body).toMatchObject({ error: "Rate limit exceeded.", code: "rate_limited" });
    expect(body.requestId).toBe(over.headers.get("x-request-id"));
    // The first request leaves the window at T0 + 60 s: 1 s from now.
    expect(over.headers.get("retry-after")).toBe("1");
    expect(over.headers.get("ratelimit-limit")).toBe(String(limit));
    expect(over.headers.get("ratelimit-remaining")).toBe("0");
    expect(over.headers.get("ratelimit-reset")).toBe("1");

    // Exactly one request's worth frees up when the first one leaves the window.
    time.now = T0 + 60_000;
    expect(statuses(await burst(token, 2)).sort()).toEqual([200, 429]);
  });

  it.each(PLANS)("%s: of N+1 concurrent requests exactly N succeed", async (plan) => {
    time.freezeAt(T0);
    const limit = PLAN_LIMITS[plan].requestsPerMinute;
    const { token } = await createSubscriber({ plan });
    const responses = await burst(token, limit + 1);
    expect(countOf(responses, 200)).toBe(limit);
    expect(countOf(responses, 429)).toBe(1);
  });

  it("after Retry-After the next request succeeds, not a moment before", async () => {
    time.freezeAt(T0);
    const { token } = await createSubscriber({ plan: "Free" });
    await burst(token, 20);
    time.now = T0 + 12_500;
    await burst(token, 40);
    time.now = T0 + 30_000;
    const limited = await api(PROBE, { token });
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBe(30); // the 20 sent at T0 leave the window at T0 + 60 s

    time.now = T0 + 30_000 + retryAfter * 1000 - 1;
    expect((await api(PROBE, { token })).status).toBe(429);
    time.now = T0 + 30_000 + retryAfter * 1000;
    expect((await api(PROBE, { token })).status).toBe(200);

    // The 40 sent at +12.5 s are still counted: Retry-After rounds the remaining 12.5 s up to 13.
    await burst(token, 19);
    const again = await api(PROBE, { token });
    expect(again.status).toBe(429);
    expect(again.headers.get("retry-after")).toBe("13");
  });

  it("two subscribers do not share a budget", async () => {
    time.freezeAt(T0);
    const a = await createSubscriber({ plan: "Free" });
    const b = await createSubscriber({ plan: "Free" });
    await burst(a.token, 60);
    expect((await api(PROBE, { token: a.token })).status).toBe(429);
    const other = await api(PROBE, { token: b.token });
    expect(other.status).toBe(200);
    expect(other.headers.get("ratelimit-remaining")).toBe("59");
  });

  it("all users, tokens and API keys of a subscriber share one budget", async () => {
    time.freezeAt(T0);
    const owner = await createSubscriber({ plan: "Professional" });
    const { key } = await createApiKey(owner.subscriberId, owner.userId);
    const colleagueId = crypto.randomUUID();
    await db().insert(users).values({
      id: colleagueId,
      subscriberId: owner.subscriberId,
      forename: "Sam",
      email: `sam-${colleagueId}@example.com`,
      passwordHash: "unused",
      emailConfirmedAt: new Date(time.now),
      createdAt: new Date(time.now),
    });
    const colleague = await issueAccessToken(env, { userId: colleagueId, subscriberId: owner.subscriberId, generation: 0 }, new Date(time.now));

    const mixed = await Promise.all(
      Array.from({ length: 300 }, (_, i) => api(PROBE, { token: [owner.token, key, colleague.token][i % 3] })),
    );
    expect(countOf(mixed, 200)).toBe(300);
    for (const token of [owner.token, key, colleague.token]) expect((await api(PROBE, { token })).status).toBe(429);
  });

  it("an eviction of the limiter does not hand out a fresh budget", async () => {
    time.freezeAt(T0);
    const { subscriberId, token } = await createSubscriber({ plan: "Free" });
    await burst(token, 60);
    // An eviction comes after ≥ 10 s of idleness; the log is written within 1 s of a change.
    await tenantLimiter(env, subscriberId).persist();
    await evictDurableObject(tenantLimiter(env, subscriberId));
    const after = await api(PROBE, { token });
    expect(after.status).toBe(429);
    expect(after.headers.get("retry-after")).toBe("60");
  });

  it("requests that fail authentication spend nothing; errors after it carry the headers", async () => {
    time.freezeAt(T0);
    const { token } = await createSubscriber({ plan: "Free" });
    const forged = `${token.slice(0, -4)}AAAA`;
    for (let i = 0; i < 5; i++) expect((await api(PROBE, { token: forged })).status).toBe(401);
    const invalid = await api(PROBE, { token: forged });
    expect(invalid.headers.get("ratelimit-limit")).toBeNull();

    const badInput = await api(PROBE, { token, json: { nothing: true } });
    expect(badInput.status).toBe(400);
    expect(badInput.headers.get("ratelimit-limit")).toBe("60");
    expect(badInput.headers.get("ratelimit-remaining")).toBe("59");
  });
});

describe("changes the limiter caches take effect on the next request", () => {
  it("a plan change moves the limit at once, both ways", async () => {
    time.freezeAt(T0);
    const { subscriberId, token } = await createSubscriber({ plan: "Free" });
    await burst(token, 60);
    expect((await api(PROBE, { token })).status).toBe(429);

    await setPlan(subscriberId, "Ultimate");
    const raised = await api(PROBE, { token });
    expect(raised.status).toBe(200);
    expect(raised.headers.get("ratelimit-limit")).toBe("600");
    expect(raised.headers.get("ratelimit-remaining")).toBe("539");
    await burst(token, 99);

    await setPlan(subscriberId, "Starter");
    const lowered = await api(PROBE, { token });
    expect(lowered.status).toBe(429);
    expect(lowered.headers.get("ratelimit-limit")).toBe("120");
  });

  it("a password reset invalidates older tokens at once", async () => {
    const { email, token } = await createSubscriber();
    expect((await api(PROBE, { token })).status).toBe(200);
    await resetPassword(email);
    const res = await api(PROBE, { token });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
  });

  it("a revoked API key is refused on the next request; a new key works at once", async () => {
    const { token } = await createSubscriber({ plan: "Professional" });
    const createKey = async () => (await api("/api/apikey", { json: { name: "ci" }, token })).json<{ apiKeyId: string; key: string }>();
    const first = await createKey();
    expect((await api(PROBE, { token: first.key })).status).toBe(200);
    const second = await createKey();
    expect((await api(PROBE, { token: second.key })).status).toBe(200);

    expect((await api(`/api/apikey/${first.apiKeyId}`, { method: "DELETE", token })).status).toBe(200);
    const revoked = await api(PROBE, { token: first.key });
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toMatchObject({ error: "Invalid API key.", code: "unauthorized" });
    expect((await api(PROBE, { token: second.key })).status).toBe(200);
  });

  it("API keys stop working when the plan drops below Professional", async () => {
    const { subscriberId, userId, token } = await createSubscriber({ plan: "Professional" });
    const { key } = await createApiKey(subscriberId, userId);
    expect((await api(PROBE, { token: key })).status).toBe(200);
    await setPlan(subscriberId, "Free");
    const res = await api(PROBE, { token: key });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: "API keys require the Professional or Ultimate plan." });
    expect((await api(PROBE, { token })).status).toBe(200);
  });

  it("a change made without refreshTenant is still picked up within 5 minutes", async () => {
    time.freezeAt(T0);
    const { subscriberId, token } = await createSubscriber({ plan: "Free" });
    expect((await api(PROBE, { token })).headers.get("ratelimit-limit")).toBe("60");
    await db().update(subscribers).set({ plan: "Starter" }).where(eq(subscribers.id, subscriberId));
    time.now = T0 + 5 * 60_000 - 1;
    expect((await api(PROBE, { token })).headers.get("ratelimit-limit")).toBe("60");
    time.now = T0 + 5 * 60_000;
    expect((await api(PROBE, { token })).headers.get("ratelimit-limit")).toBe("120");
  });

  it("a key's lastUsedAt is written at most once a minute", async () => {
    time.freezeAt(T0);
    const { subscriberId, userId } = await createSubscriber({ plan: "Professional" });
    const { key, apiKeyId } = await createApiKey(subscriberId, userId);
    const lastUsedAt = async () =>
      (await db().select({ at: apiKeys.lastUsedAt }).from(apiKeys).where(eq(apiKeys.id, apiKeyId)))[0].at?.getTime();

    await api(PROBE, { token: key });
    expect(await lastUsedAt()).toBe(T0);
    time.now = T0 + 59_999;
    await api(PROBE, { token: key });
    expect(await lastUsedAt()).toBe(T0);
    time.now = T0 + 60_000;
    await api(PROBE, { token: key });
    expect(await lastUsedAt()).toBe(T0 + 60_000);
  });
});

describe("which agents are the subscriber's (asked with the admission)", () => {
  async function admitNaming(subscriberId: string, userId: string, agentId: string) {
    const principal = { kind: "session", userId, generation: 0, sessionId: crypto.randomUUID() } as const;
    return tenantLimiter(env, subscriberId).admit({ subscriberId, now: Date.now(), principal, agentId });
  }

  it("answers for its own agents, a foreign one and an unknown id", async () => {
    const { subscriberId, userId, agentId } = await subscriberWithAgent();
    const other = await subscriberWithAgent();
    expect(await admitNaming(subscriberId, userId, agentId)).toMatchObject({ status: "admitted", ownsAgent: true });
    expect(await admitNaming(subscriberId, userId, other.agentId)).toMatchObject({ status: "admitted", ownsAgent: false });
    expect(await admitNaming(subscriberId, userId, crypto.randomUUID())).toMatchObject({ status: "admitted", ownsAgent: false });
  });

  it("a forgotten (deleted) agent stays forgotten even if a reload read D1 before its row went", async () => {
    const { subscriberId, userId, agentId } = await subscriberWithAgent();
    expect(await admitNaming(subscriberId, userId, agentId)).toMatchObject({ ownsAgent: true });
    // The row is still in D1 here, as a load that raced the delete would have seen it.
    await tenantLimiter(env, subscriberId).forgetAgent(agentId);
    expect(await admitNaming(subscriberId, userId, agentId)).toMatchObject({ ownsAgent: false });
    await tenantLimiter(env, subscriberId).refresh();
    expect(await admitNaming(subscriberId, userId, agentId)).toMatchObject({ ownsAgent: false });
  });
});

/** `count` requests one after another at the current (frozen) clock: the shape that gets admission leases. */
async function inSequence(token: string, count: number): Promise<Response[]> {
  const responses: Response[] = [];
  for (let i = 0; i < count; i++) responses.push(await api(PROBE, { token }));
  return responses;
}

describe("admission leases (requests lent to an isolate ahead of time)", () => {
  it("one token's requests one after another: exactly the limit, RateLimit-Remaining counted down one by one", async () => {
    time.freezeAt(T0);
    const { token } = await createSubscriber({ plan: "Free" });
    const responses = await inSequence(token, 61);
    expect(statuses(responses.slice(0, 60))).toEqual(Array(60).fill(200));
    expect(responses.slice(0, 60).map((r) => Number(r.headers.get("ratelimit-remaining")))).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i));
    expect(responses[60].status).toBe(429);
  });

  it("lent requests left unused stop counting once the lease is over", async () => {
    time.freezeAt(T0);
    const { token } = await createSubscriber({ plan: "Free" });
    await inSequence(token, 5);
    time.now = T0 + LEASE_TTL_MS;
    // 5 made, this one the 6th: whatever was lent beyond them was given back.
    expect((await api(PROBE, { token })).headers.get("ratelimit-remaining")).toBe("54");
  });

  it("a logout in this isolate ends the session's lease at once", async () => {
    time.freezeAt(T0);
    const { token } = await createSubscriber({ plan: "Ultimate" });
    await inSequence(token, 10);
    expect((await api("/api/auth/logout", { method: "POST", token })).status).toBe(200);
    expect((await api(PROBE, { token })).status).toBe(401);
  });

  it("a revocation made through another isolate is seen here within LEASE_TTL_MS", async () => {
    time.freezeAt(T0);
    const { token, subscriberId, userId } = await createSubscriber({ plan: "Ultimate" });
    await inSequence(token, 10);
    // What another isolate's password change does: the D1 write, then the limiter's refresh (not this isolate's leases).
    await db().update(users).set({ sessionGeneration: 1 }).where(eq(users.id, userId));
    await tenantLimiter(env, subscriberId).refresh();
    expect((await api(PROBE, { token })).status).toBe(200); // still lent to this isolate
    time.now = T0 + LEASE_TTL_MS;
    expect((await api(PROBE, { token })).status).toBe(401);
  });
});
