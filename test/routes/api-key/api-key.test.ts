import { eq, sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { apiKeys } from "../../../src/db/schema";
import { setClock } from "../../../src/lib/clock";
import { sha256Hex } from "../../../src/lib/crypto";
import { adminToken, api, createSubscriber, db } from "../../helpers";
import { emailsTo } from "../../support/auth";

afterEach(() => setClock(null));

interface CreatedKey {
  apiKeyId: string;
  name: string;
  key: string;
  prefix: string;
  createdAt: string;
}

async function createKey(token: string, name = "CI pipeline") {
  const res = await api("/api/apikey", { json: { name }, token });
  expect(res.status).toBe(200);
  return res.json<CreatedKey>();
}

const keyCount = async (subscriberId: string) =>
  (await db().select({ n: sql<number>`count(*)` }).from(apiKeys).where(eq(apiKeys.subscriberId, subscriberId)))[0].n;

const setPlan = (subscriberId: string, plan: string) =>
  api(`/api/admin/subscriber/${subscriberId}/plan`, { method: "PUT", json: { plan }, token: adminToken() });

describe("POST /api/apikey", () => {
  it("creates a ds_live_ key, shown once, stored only as its SHA-256", async () => {
    const start = Date.parse("2026-11-27T10:00:00.500Z");
    setClock(() => start);
    const { token, subscriberId, userId } = await createSubscriber({ plan: "Professional" });
    const created = await createKey(token, "  Deploy bot  ");
    expect(Object.keys(created)).toEqual(["apiKeyId", "name", "key", "prefix", "createdAt"]);
    expect(created.name).toBe("Deploy bot");
    expect(created.key).toMatch(/^ds_live_[A-Za-z0-9_-]{43,}$/);
    expect(created.prefix).toBe(created.key.slice(0, 12));
    expect(created.createdAt).toBe("2026-11-27T10:00:00Z");

    const [row] = await db().select().from(apiKeys).where(eq(apiKeys.id, created.apiKeyId));
    expect(row).toMatchObject({ subscriberId, createdByUserId: userId, keyHash: await sha256Hex(created.key), revokedAt: null });
    expect(JSON.stringify(row)).not.toContain(created.key);

    const list = await api("/api/apikey", { token });
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).not.toContain(created.key);
    expect(JSON.parse(text)).toEqual([{ apiKeyId: created.apiKeyId, name: "Deploy bot", prefix: created.prefix, createdAt: created.createdAt, lastUsedAt: null }]);
  });

  it("emails the user who created it: name, prefix and time, never the key", async () => {
    setClock(() => Date.parse("2026-11-27T10:00:00Z"));
    const { token, email } = await createSubscriber({ plan: "Professional" });
    const created = await createKey(token, "CI deploys");
    const [sent] = await emailsTo(email);
    expect(sent.subject).toBe("A new API key was created for your DataSync account");
    expect(sent.text).toContain("A new API key was created for your DataSync account at 2026-11-27T10:00:00Z:");
    expect(sent.text).toContain("name: CI deploys");
    expect(sent.text).toContain(`starts with: ${created.prefix}`);
    expect(sent.text).toContain(created.apiKeyId);
    expect(sent.text).not.toContain(created.key);
  });

  it("the key authenticates as its subscriber on the next request", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Ultimate" });
    const { key } = await createKey(token);
    const res = await api("/api/account", { token: key });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ subscriberId, plan: "Ultimate" });
  });

  it.each(["Free", "Starter"] as const)("403 on the %s plan, and nothing is stored", async (plan) => {
    const { token, subscriberId } = await createSubscriber({ plan });
    const res = await api("/api/apikey", { json: { name: "k" }, token });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: "plan_limit", error: "API keys require the Professional or Ultimate plan." });
    expect(await keyCount(subscriberId)).toBe(0);
  });

  it("403 beyond the plan's number of keys (Professional: 10); revoked keys do not count", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Professional" });
    const now = new Date();
    await db().insert(apiKeys).values(
      Array.from({ length: 10 }, (_, i) => ({ subscriberId, name: `k${i}`, prefix: "ds_live_xxxx", keyHash: `hash-${subscriberId}-${i}`, createdAt: now })),
    );
    const res = await api("/api/apikey", { json: { name: "eleventh" }, token });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: "plan_limit", error: "Plan limit reached: the Professional plan allows at most 10 API keys." });
    expect(await keyCount(subscriberId)).toBe(10);

    const [first] = await db().select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.subscriberId, subscriberId)).limit(1);
    expect((await api(`/api/apikey/${first.id}`, { method: "DELETE", token })).status).toBe(200);
    await createKey(token, "replacement");
  });

  it("403 when the caller is itself an API key: only a login session mints keys", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Professional" });
    const { key } = await createKey(token);
    const res = await api("/api/apikey", { json: { name: "from a key" }, token: key });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: "forbidden", error: "API keys can only be created from a login session, not with an API key." });
    expect(await keyCount(subscriberId)).toBe(1);
  });

  it.each([
    ["no name", {}],
    ["a blank name", { name: "   " }],
    ["a name over 100 characters", { name: "n".repeat(101) }],
  ])("400 with details for %s, and nothing is stored", async (_, json) => {
    const { token, subscriberId } = await createSubscriber({ plan: "Professional" });
    const res = await api("/api/apikey", { json, token });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "validation_failed", details: [{ path: "name" }] });
    expect(await keyCount(subscriberId)).toBe(0);
  });

  it("401 without a token", async () => {
    expect((await api("/api/apikey", { json: { name: "k" } })).status).toBe(401);
    expect((await api("/api/apikey")).status).toBe(401);
    expect((await api(`/api/apikey/${crypto.randomUUID()}`, { method: "DELETE" })).status).toBe(401);
  });
});

describe("DELETE /api/apikey/{id}", () => {
  it("revokes the key: refused from the next request, gone from the list, a second delete is 404", async () => {
    const { token } = await createSubscriber({ plan: "Professional" });
    const created = await createKey(token);
    expect((await api("/api/account", { token: created.key })).status).toBe(200);

    const res = await api(`/api/apikey/${created.apiKeyId}`, { method: "DELETE", token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "API key revoked." });

    const refused = await api("/api/account", { token: created.key });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ code: "unauthorized" });
    expect(await (await api("/api/apikey", { token })).json()).toEqual([]);
    expect((await api(`/api/apikey/${created.apiKeyId}`, { method: "DELETE", token })).status).toBe(404);
  });

  it("a key can revoke itself", async () => {
    const { token } = await createSubscriber({ plan: "Professional" });
    const created = await createKey(token);
    expect((await api(`/api/apikey/${created.apiKeyId}`, { method: "DELETE", token: created.key })).status).toBe(200);
    expect((await api("/api/account", { token: created.key })).status).toBe(401);
  });

  it("404 for another subscriber's key, which keeps working; 404 for an id that is not a UUID", async () => {
    const owner = await createSubscriber({ plan: "Professional" });
    const other = await createSubscriber({ plan: "Professional" });
    const created = await createKey(owner.token);

    const res = await api(`/api/apikey/${created.apiKeyId}`, { method: "DELETE", token: other.token });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: "not_found", error: "API key not found." });
    expect(await (await api("/api/apikey", { token: other.token })).json()).toEqual([]);
    expect((await api("/api/account", { token: created.key })).status).toBe(200);

    expect((await api("/api/apikey/not-a-uuid", { method: "DELETE", token: owner.token })).status).toBe(404);
  });
});

describe("API keys and the plan", () => {
  it("a key stops working (403) while the plan is below Professional, and works again after an upgrade", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Professional" });
    const { key } = await createKey(token);
    expect((await setPlan(subscriberId, "Starter")).status).toBe(200);

    const refused = await api("/api/account", { token: key });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: "API keys require the Professional or Ultimate plan." });
    expect((await api("/api/account", { token })).status).toBe(200);

    expect((await setPlan(subscriberId, "Ultimate")).status).toBe(200);
    expect((await api("/api/account", { token: key })).status).toBe(200);
  });
});

describe("lastUsedAt", () => {
  it("is written on use, at most once a minute per key", async () => {
    const start = Date.parse("2026-11-27T10:00:00Z");
    setClock(() => start);
    const { token } = await createSubscriber({ plan: "Professional" });
    const { key, apiKeyId } = await createKey(token);
    const lastUsed = async () => (await db().select({ at: apiKeys.lastUsedAt }).from(apiKeys).where(eq(apiKeys.id, apiKeyId)))[0].at?.getTime();

    setClock(() => start + 5_000);
    await api("/api/account", { token: key });
    expect(await lastUsed()).toBe(start + 5_000);

    setClock(() => start + 50_000);
    await api("/api/account", { token: key });
    expect(await lastUsed()).toBe(start + 5_000);

    setClock(() => start + 66_000);
    await api("/api/account", { token: key });
    expect(await lastUsed()).toBe(start + 66_000);

    const [listed] = await (await api("/api/apikey", { token })).json<{ lastUsedAt: string }[]>();
    expect(listed.lastUsedAt).toBe("2026-11-27T10:01:06Z");
  });
});

describe("GET /api/apikey", () => {
  it("lists only the caller's keys, newest first", async () => {
    const start = Date.parse("2026-11-27T10:00:00Z");
    const { token } = await createSubscriber({ plan: "Professional" });
    const other = await createSubscriber({ plan: "Professional" });
    setClock(() => start);
    await createKey(token, "older");
    setClock(() => start + 1000);
    await createKey(token, "newer");
    await createKey(other.token, "theirs");
    const list = await (await api("/api/apikey", { token })).json<{ name: string }[]>();
    expect(list.map((k) => k.name)).toEqual(["newer", "older"]);
  });
});
