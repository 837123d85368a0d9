import { describe, expect, it } from "vitest";
import { agents, apiKeys, backupJobs, destinations, webhooks } from "../../../src/db/schema";
import { PLAN_LIMITS } from "../../../src/services/plan";
import { sha256Hex } from "../../../src/lib/crypto";
import { api, createColleague, createSubscriber, db } from "../../helpers";
import { registerConfirmedAndLogIn } from "../../support/auth";
import { T0, time } from "../../support/manual-clock";
import { totpCode, turnOnTwoFactor } from "../../support/two-factor";

describe("GET /api/account", () => {
  it("describes the user, the subscriber, the Free plan's limits and zero usage after registration", async () => {
    const { token, email } = await registerConfirmedAndLogIn();
    const res = await api("/api/account", { token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      userId: expect.any(String),
      forename: "Jane",
      email,
      twoFactorEnabled: false,
      subscriberId: expect.any(String),
      organisationName: null,
      plan: "Free",
      limits: { requestsPerMinute: 60, agents: 1, backupJobs: 3, destinations: 2, apiKeys: 0, webhooks: 0, logRetentionDays: 7 },
      usage: { agents: 0, backupJobs: 0, destinations: 0, apiKeys: 0, webhooks: 0 },
    });
  });

  it("reports unlimited as null and counts agents and active API keys", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Ultimate" });
    const now = new Date();
    await db().insert(agents).values({ subscriberId, hostname: "db-1", operatingSystem: "Linux", version: "1.0.0", tokenHash: `agent-${subscriberId}`, createdAt: now });
    const created = await (await api("/api/apikey", { json: { name: "a" }, token })).json<{ apiKeyId: string }>();
    await api("/api/apikey", { json: { name: "b" }, token });
    await api(`/api/apikey/${created.apiKeyId}`, { method: "DELETE", token });

    const body = await (await api("/api/account", { token })).json<{ limits: Record<string, unknown>; usage: Record<string, number> }>();
    const { features: _, ...ultimate } = PLAN_LIMITS.Ultimate;
    expect(body.limits).toEqual(ultimate);
    expect(body.limits.agents).toBeNull();
    expect(body.usage).toMatchObject({ agents: 1, apiKeys: 1 });
  });

  it("counts backup jobs, destinations and webhooks of the subscriber only", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Professional" });
    const other = await createSubscriber({ plan: "Professional" });
    const now = new Date();
    for (const owner of [subscriberId, subscriberId, other.subscriberId]) {
      await db().batch([
        db().insert(destinations).values({ subscriberId: owner, name: "d", type: "LocalStorage", settings: { path: "/b" }, createdAt: now, updatedAt: now }),
        db().insert(backupJobs).values({ subscriberId: owner, name: "j", isEnabled: true, schedules: [], retentionDays: 30, encryptionEnabled: false, createdAt: now, updatedAt: now }),
        db().insert(webhooks).values({ subscriberId: owner, url: "https://hooks.example/x", events: [], sealedSecret: "sealed", isEnabled: true, createdAt: now, updatedAt: now }),
      ]);
    }
    const body = await (await api("/api/account", { token })).json<{ usage: Record<string, number> }>();
    expect(body.usage).toEqual({ agents: 0, backupJobs: 2, destinations: 2, apiKeys: 0, webhooks: 2 });
  });

  it("says whether the user has two-factor authentication on: only once enabled, and no longer once turned off", async () => {
    time.freezeAt(T0);
    const { token } = await createSubscriber();
    const twoFactorEnabled = async () => (await (await api("/api/account", { token })).json<{ twoFactorEnabled: boolean }>()).twoFactorEnabled;
    expect((await api("/api/account/2fa/setup", { method: "POST", token })).status).toBe(200);
    expect(await twoFactorEnabled()).toBe(false);
    const { secret } = await turnOnTwoFactor(token);
    expect(await twoFactorEnabled()).toBe(true);
    time.now = T0 + 30_000;
    expect((await api("/api/account/2fa", { method: "DELETE", token, json: { code: totpCode(secret) } })).status).toBe(200);
    expect(await twoFactorEnabled()).toBe(false);
  });

  it("says 2FA is on for its own user only, not for a colleague or another subscriber", async () => {
    time.freezeAt(T0);
    const a = await createSubscriber();
    const colleague = await createColleague(a.subscriberId);
    const b = await createSubscriber();
    await turnOnTwoFactor(a.token);
    for (const { token } of [colleague, b]) {
      expect(await (await api("/api/account", { token })).json()).toMatchObject({ twoFactorEnabled: false });
    }
  });

  it("with an API key: the subscriber and the user who created the key", async () => {
    const { token, subscriberId, userId, email } = await createSubscriber({ plan: "Professional" });
    const { key } = await (await api("/api/apikey", { json: { name: "k" }, token })).json<{ key: string }>();
    expect(await (await api("/api/account", { token: key })).json()).toMatchObject({ userId, email, subscriberId, plan: "Professional" });
  });

  it("with an API key whose creator is gone: subscriber fields, null user fields", async () => {
    const { subscriberId } = await createSubscriber({ plan: "Professional" });
    const key = "ds_live_orphan-key-for-account-test-0123456789abcdef";
    await db().insert(apiKeys).values({ subscriberId, createdByUserId: null, name: "orphan", prefix: key.slice(0, 12), keyHash: await sha256Hex(key), createdAt: new Date() });
    const res = await api("/api/account", { token: key });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ userId: null, forename: null, email: null, twoFactorEnabled: false, subscriberId, organisationName: "Acme", plan: "Professional" });
  });

  it("401 without a token or with a bad one", async () => {
    expect((await api("/api/account")).status).toBe(401);
    expect((await api("/api/account", { token: "eyJhbGciOiJIUzI1NiJ9.e30.x" })).status).toBe(401);
  });
});
