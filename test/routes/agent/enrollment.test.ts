import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { agentRegistrationTokens, agents, logMessages } from "../../../src/db/schema";
import { setClock } from "../../../src/lib/clock";
import { sha256Hex } from "../../../src/lib/crypto";
import { api, createSubscriber, db } from "../../helpers";
import { enroll, registrationToken } from "../../support/agent";

const facts = { hostname: "PROD-SQL-01", displayName: "Production SQL Server", operatingSystem: "Windows Server 2022", version: "1.4.2" };
const register = (json: unknown) => api("/api/agent/register", { json });

afterEach(() => setClock(null));

describe("POST /api/agent/registration-token", () => {
  it("returns a one-time token valid for 24 hours, stored only as its SHA-256", async () => {
    const start = Date.parse("2026-11-27T10:00:00Z");
    setClock(() => start);
    const user = await createSubscriber();
    const res = await api("/api/agent/registration-token", { method: "POST", token: user.token });
    expect(res.status).toBe(200);
    const body = await res.json<{ registrationToken: string; expiresAt: string }>();
    expect(body.registrationToken).toMatch(/^ds_reg_[A-Za-z0-9_-]{43}$/);
    expect(body.expiresAt).toBe("2026-11-28T10:00:00Z");
    const rows = await db().select().from(agentRegistrationTokens).where(eq(agentRegistrationTokens.subscriberId, user.subscriberId));
    expect(rows).toHaveLength(1);
    expect(rows[0].tokenHash).toBe(await sha256Hex(body.registrationToken));
    expect(JSON.stringify(rows)).not.toContain(body.registrationToken);
  });

  it("needs a token", async () => {
    const res = await api("/api/agent/registration-token", { method: "POST" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
  });

  it("is refused with 403 once the plan's agents are all enrolled", async () => {
    const user = await createSubscriber({ plan: "Free" });
    await enroll(user.token);
    const res = await api("/api/agent/registration-token", { method: "POST", token: user.token });
    expect(res.status).toBe(403);
    expect((await res.json<{ error: string }>()).error).toBe("Plan limit reached: the Free plan allows at most 1 agent.");
  });
});

describe("POST /api/agent/register", () => {
  it("enrolls an agent, returns a ds_agent_ token stored only as SHA-256, and logs it", async () => {
    const user = await createSubscriber();
    const res = await register({ registrationToken: await registrationToken(user.token), ...facts });
    expect(res.status).toBe(200);
    const body = await res.json<{ agentId: string; agentToken: string }>();
    expect(Object.keys(body).sort()).toEqual(["agentId", "agentToken"]);
    expect(body.agentToken).toMatch(/^ds_agent_[A-Za-z0-9_-]{43}$/);

    const [row] = await db().select().from(agents).where(eq(agents.id, body.agentId));
    expect(row).toMatchObject({ subscriberId: user.subscriberId, ...facts, isOnline: false, lastSeenUtc: null });
    expect(row.tokenHash).toBe(await sha256Hex(body.agentToken));

    const list = await api("/api/agent", { token: user.token });
    expect(await list.json()).toEqual([{ agentId: body.agentId, ...facts, updateAvailable: false, isOnline: false, lastSeenUtc: null }]);

    const logs = await db().select().from(logMessages).where(eq(logMessages.subscriberId, user.subscriberId));
    expect(logs.map((l) => [l.source, l.agentId, l.message])).toEqual([
      ["platform", body.agentId, 'Agent "Production SQL Server" (PROD-SQL-01) enrolled.'],
    ]);
  });

  it("uses the token up: a second registration with it is refused", async () => {
    const user = await createSubscriber({ plan: "Starter" });
    const registrationToken_ = await registrationToken(user.token);
    expect((await register({ registrationToken: registrationToken_, ...facts })).status).toBe(200);
    const again = await register({ registrationToken: registrationToken_, ...facts });
    expect(again.status).toBe(400);
    expect((await again.json<{ error: string }>()).error).toBe("Invalid, expired or already used registration token.");
    expect(await db().$count(agents, eq(agents.subscriberId, user.subscriberId))).toBe(1);
  });

  it("makes exactly one agent when two registrations race with one token", async () => {
    const user = await createSubscriber({ plan: "Ultimate" });
    const token = await registrationToken(user.token);
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => register({ registrationToken: token, ...facts, hostname: `host-${i}` })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400]);
    expect(await db().$count(agents, eq(agents.subscriberId, user.subscriberId))).toBe(1);
    expect(await db().$count(logMessages, eq(logMessages.subscriberId, user.subscriberId))).toBe(1);
  });

  it("keeps the plan's agent limit when several tokens were handed out", async () => {
    const user = await createSubscriber({ plan: "Free" });
    const [first, second] = [await registrationToken(user.token), await registrationToken(user.token)];
    const results = await Promise.all([register({ registrationToken: first, ...facts }), register({ registrationToken: second, ...facts })]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 403]);
    expect(await db().$count(agents, eq(agents.subscriberId, user.subscriberId))).toBe(1);
  });

  it("refuses an expired token", async () => {
    const start = Date.now();
    setClock(() => start);
    const user = await createSubscriber();
    const token = await registrationToken(user.token);
    setClock(() => start + 24 * 60 * 60 * 1000 + 1);
    const res = await register({ registrationToken: token, ...facts });
    expect(res.status).toBe(400);
    expect(await db().$count(agents, eq(agents.subscriberId, user.subscriberId))).toBe(0);
  });

  it("refuses an unknown token and a malformed body with 400, storing nothing", async () => {
    const before = await db().$count(agents);
    const unknown = await register({ registrationToken: "ds_reg_nope", ...facts });
    expect(unknown.status).toBe(400);
    const missing = await register({ registrationToken: "ds_reg_nope", hostname: "h", version: "1" });
    expect(missing.status).toBe(400);
    const body = await missing.json<{ error: string; details: { path: string }[] }>();
    expect(body.details.map((d) => d.path)).toContain("operatingSystem");
    const notJson = await api("/api/agent/register", { body: "{", headers: { "content-type": "application/json" } });
    expect(notJson.status).toBe(400);
    expect(await db().$count(agents)).toBe(before);
  });

  it("does not need (or accept instead of a token) a user session", async () => {
    const user = await createSubscriber();
    const res = await api("/api/agent/register", { token: user.token, json: { registrationToken: user.token, ...facts } });
    expect(res.status).toBe(400);
  });
});

describe("agent tokens", () => {
  it("are not accepted by the user API", async () => {
    const user = await createSubscriber();
    const { agentToken } = await enroll(user.token);
    expect((await api("/api/agent", { token: agentToken })).status).toBe(401);
  });
});
