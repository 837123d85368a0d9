import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { agents, events, logMessages } from "../../../src/db/schema";
import { setClock } from "../../../src/lib/clock";
import { type AgentJob, PING_FRAME, SILENCE_TIMEOUT_MS } from "../../../src/protocol/agent-protocol";
import { agentSession, sendAgentCommand } from "../../../src/services/agent";
import { SECRET_BINDINGS, sealSecret } from "../../../src/services/secret";
import { api, createSubscriber, db, randomBase64 } from "../../helpers";
import { TestAgent, connectAgent, connectRequest, subscriberWithAgent } from "../../support/agent";

afterEach(() => setClock(null));

const destinationId = crypto.randomUUID();
const job = (backupJobId: string, name: string): AgentJob => ({
  backupJobId,
  name,
  isEnabled: true,
  schedules: [{ backupMode: "Full", cronExpression: "0 2 * * *" }],
  retentionDays: 30,
  databases: [],
  destinations: [{ destinationId, name: "Local", type: "LocalStorage", settings: { path: "/backups" }, credentialReferenceId: null }],
  encryption: { enabled: true, algorithm: "AES-256", passphrase: "correct horse battery" },
});

async function presence(agentId: string) {
  const [row] = await db().select({ isOnline: agents.isOnline, lastSeenUtc: agents.lastSeenUtc }).from(agents).where(eq(agents.id, agentId));
  const recorded = await db().select({ type: events.type, data: events.data }).from(events).where(eq(events.subscriberId, (await subscriberOf(agentId))!));
  return { ...row, events: recorded.map((e) => e.type) };
}

async function subscriberOf(agentId: string) {
  const [row] = await db().select({ subscriberId: agents.subscriberId }).from(agents).where(eq(agents.id, agentId));
  return row?.subscriberId;
}

describe("GET /api/agent/connect", () => {
  it("is 401 without a token, with a wrong one, or with a user's token", async () => {
    const { token } = await subscriberWithAgent();
    for (const bearer of [null, "ds_agent_wrong", token]) {
      const res = await connectRequest(bearer);
      expect(res.status).toBe(401);
      expect(res.webSocket).toBeNull();
      expect((await res.json<{ error: string }>()).error).toBe("Invalid or revoked agent token.");
    }
  });

  it("is 426 without a WebSocket upgrade", async () => {
    const { agentToken } = await subscriberWithAgent();
    const res = await connectRequest(agentToken, {});
    expect(res.status).toBe(426);
    expect(res.headers.get("upgrade")).toBe("websocket");
    expect(await res.json()).toMatchObject({ code: "upgrade_required" });
  });

  it("opens with a welcome frame, marks the agent online and records agent.connected once", async () => {
    const { agentId, agentToken, subscriberId } = await subscriberWithAgent();
    const res = await connectRequest(agentToken);
    expect(res.status).toBe(101);
    const agent = new TestAgent(res.webSocket!);
    const welcome = await agent.nextOfType("welcome");
    expect(welcome).toMatchObject({ agentId, protocolVersion: 1 });
    expect(Math.abs(Date.parse(welcome.serverTime) - Date.now())).toBeLessThan(5000);
    expect(await presence(agentId)).toMatchObject({ isOnline: true, events: ["agent.connected"] });
    const [event] = await db().select().from(events).where(eq(events.subscriberId, subscriberId));
    expect(event.data).toEqual({ agentId, hostname: "PROD-SQL-01", displayName: "Production SQL Server" });
    agent.close();
    await agent.closed;
  });

  it("answers ping with pong", async () => {
    const { agentToken } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    agent.send(PING_FRAME);
    expect(await agent.next()).toEqual({ type: "pong" });
    agent.send('{ "type": "ping" }'); // another spelling reaches the session, which answers it itself
    expect(await agent.next()).toEqual({ type: "pong" });
  });
});

describe("presence", () => {
  it("flips offline when the socket closes, with agent.disconnected and log entries", async () => {
    const { agentId, agentToken, subscriberId } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    agent.close();
    await agent.closed;
    await expect.poll(async () => (await presence(agentId)).isOnline).toBe(false);
    expect((await presence(agentId)).events).toEqual(["agent.connected", "agent.disconnected"]);
    const logs = await db().select().from(logMessages).where(eq(logMessages.subscriberId, subscriberId));
    expect(logs.map((l) => l.message)).toEqual(
      expect.arrayContaining([
        'Agent "Production SQL Server" (PROD-SQL-01) connected.',
        'Agent "Production SQL Server" (PROD-SQL-01) disconnected.',
      ]),
    );
  });

  it("a newer connection replaces the older (close 4000) without a presence change", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    const first = await connectAgent(agentToken);
    const second = await connectAgent(agentToken);
    expect((await first.closed).code).toBe(4000);
    second.send(PING_FRAME);
    expect(await second.next()).toEqual({ type: "pong" });
    expect(await presence(agentId)).toMatchObject({ isOnline: true, events: ["agent.connected"] });
  });

  it("the silence alarm takes the agent offline after 90 s without a frame", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    const start = Date.now();
    setClock(() => start);
    const agent = await connectAgent(agentToken);
    const stub = agentSession(env, agentId);

    setClock(() => start + SILENCE_TIMEOUT_MS - 1000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await presence(agentId)).isOnline).toBe(true);

    setClock(() => start + SILENCE_TIMEOUT_MS + 1000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await agent.closed).code).toBe(4002);
    expect(await presence(agentId)).toMatchObject({ isOnline: false, events: ["agent.connected", "agent.disconnected"] });
  });

  it("pings answered by the runtime count as signs of life", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    const now = Date.now();
    setClock(() => now - 2 * SILENCE_TIMEOUT_MS); // connected long ago
    const agent = await connectAgent(agentToken);
    agent.send(PING_FRAME); // auto-answered now, without waking the session
    expect(await agent.next()).toEqual({ type: "pong" });
    setClock(() => now + 1000);
    expect(await runDurableObjectAlarm(agentSession(env, agentId))).toBe(true);
    expect((await presence(agentId)).isOnline).toBe(true);
    expect(agent.pending()).toEqual([]);
  });

  it("a long-connected agent's lastSeenUtc is refreshed by the alarm", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    const now = Date.parse("2026-11-27T12:00:00Z");
    setClock(() => now - 20 * 60_000);
    const agent = await connectAgent(agentToken);
    expect((await presence(agentId)).lastSeenUtc).toEqual(new Date(now - 20 * 60_000));
    setClock(() => now);
    agent.send('{ "type": "ping" }'); // handled by the session at `now`
    await agent.nextOfType("pong");
    setClock(() => now + 1000);
    expect(await runDurableObjectAlarm(agentSession(env, agentId))).toBe(true);
    expect(await presence(agentId)).toMatchObject({ isOnline: true, lastSeenUtc: new Date(now) });
  });
});

describe("command queue", () => {
  it("commands queued while offline arrive in seq order after connect, after the welcome", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    const jobId = crypto.randomUUID();
    const queued = [
      await sendAgentCommand(env, agentId, { type: "inventory.request" }),
      await sendAgentCommand(env, agentId, { type: "job.upsert", job: job(jobId, "Nightly") }),
      await sendAgentCommand(env, agentId, { type: "job.delete", backupJobId: crypto.randomUUID() }),
    ];
    expect(queued.map((q) => q.seq)).toEqual([1, 2, 3]);
    const agent = await connectAgent(agentToken);
    const received = [await agent.nextOfType("command"), await agent.nextOfType("command"), await agent.nextOfType("command")];
    expect(received.map((c) => [c.id, c.seq, c.command.type])).toEqual([
      [queued[0].id, 1, "inventory.request"],
      [queued[1].id, 2, "job.upsert"],
      [queued[2].id, 3, "job.delete"],
    ]);
    expect(received[1].command).toEqual({ type: "job.upsert", job: job(jobId, "Nightly") });
  });

  it("a queued command no configured key opens is dropped, and the commands behind it still arrive", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    const jobId = crypto.randomUUID();
    const lost = await sendAgentCommand(env, agentId, { type: "job.upsert", job: job(crypto.randomUUID(), "Sealed under a lost key") });
    const next = await sendAgentCommand(env, agentId, { type: "job.upsert", job: job(jobId, "Nightly") });
    // As if sealed under an ENCRYPTION_KEY that was rotated away and is no longer configured.
    const lostKey = { ...env, ENCRYPTION_KEY: randomBase64(32) } as Env;
    await runInDurableObject(agentSession(env, agentId), async (_instance, state) => {
      const sealed = await sealSecret(lostKey, JSON.stringify({ type: "job.upsert", job: job(crypto.randomUUID(), "x") }), SECRET_BINDINGS.agentCommand(lost.id));
      state.storage.sql.exec("UPDATE commands SET body = ? WHERE id = ?", sealed, lost.id);
    });
    const agent = await connectAgent(agentToken);
    const received = await agent.nextOfType("command");
    expect([received.id, received.command]).toEqual([next.id, { type: "job.upsert", job: job(jobId, "Nightly") }]);
    const queued = await runInDurableObject(agentSession(env, agentId), (_instance, state) => state.storage.sql.exec<{ id: string }>("SELECT id FROM commands").toArray());
    expect(queued.map((r) => r.id)).toEqual([next.id]);
  });

  it("a command sent while connected is pushed at once", async () => {
    const { agentId, agentToken, token } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    const res = await api(`/api/agent/${agentId}/inventory-request`, { method: "POST", token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Inventory requested." });
    expect((await agent.nextOfType("command")).command).toEqual({ type: "inventory.request" });
  });

  it("an unacknowledged command is sent again after a reconnect; an acknowledged one is not", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    const first = await connectAgent(agentToken);
    const acked = await sendAgentCommand(env, agentId, { type: "inventory.request" });
    const unacked = await sendAgentCommand(env, agentId, { type: "job.delete", backupJobId: crypto.randomUUID() });
    expect((await first.nextOfType("command")).id).toBe(acked.id);
    expect((await first.nextOfType("command")).id).toBe(unacked.id);
    first.send({ type: "ack", id: acked.id });
    first.send('{ "type": "ping" }'); // answered by the session after the ack, unlike the auto-answered PING_FRAME
    await first.nextOfType("pong");
    first.close(1001); // going away
    await first.closed;

    const second = await connectAgent(agentToken);
    const again = await second.nextOfType("command");
    expect([again.id, again.seq]).toEqual([unacked.id, unacked.seq]);
    second.send({ type: "ack", id: unacked.id });
    second.send('{ "type": "ping" }');
    await second.nextOfType("pong");
    second.close();
    await second.closed;

    const third = await connectAgent(agentToken);
    third.send(PING_FRAME);
    expect(await third.next()).toEqual({ type: "pong" });
  });

  it("a newer job.upsert supersedes an older one the agent has not received", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    const jobId = crypto.randomUUID();
    await sendAgentCommand(env, agentId, { type: "job.upsert", job: job(jobId, "v1") });
    const other = await sendAgentCommand(env, agentId, { type: "job.upsert", job: job(crypto.randomUUID(), "other job") });
    const latest = await sendAgentCommand(env, agentId, { type: "job.upsert", job: job(jobId, "v2") });
    const agent = await connectAgent(agentToken);
    const received = [await agent.nextOfType("command"), await agent.nextOfType("command")];
    expect(received.map((c) => c.id)).toEqual([other.id, latest.id]);
    expect(received[1].command).toMatchObject({ job: { name: "v2" } });
    agent.send(PING_FRAME);
    expect(await agent.next()).toEqual({ type: "pong" });
  });

  it("keeps a sent but unacknowledged upsert, which the newer one follows", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    const jobId = crypto.randomUUID();
    const first = await connectAgent(agentToken);
    const v1 = await sendAgentCommand(env, agentId, { type: "job.upsert", job: job(jobId, "v1") });
    expect((await first.nextOfType("command")).id).toBe(v1.id);
    first.close();
    await first.closed;
    const v2 = await sendAgentCommand(env, agentId, { type: "job.upsert", job: job(jobId, "v2") });
    const second = await connectAgent(agentToken);
    expect([(await second.nextOfType("command")).id, (await second.nextOfType("command")).id]).toEqual([v1.id, v2.id]);
  });

  it("refuses a command that does not match the protocol", async () => {
    const { agentId } = await subscriberWithAgent();
    await expect(sendAgentCommand(env, agentId, { type: "job.delete", backupJobId: "not-a-uuid" })).rejects.toThrow();
  });

  it("the queue and the socket survive eviction of the Durable Object", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    const queued = await sendAgentCommand(env, agentId, { type: "inventory.request" });
    await evictDurableObject(agentSession(env, agentId));
    const agent = await connectAgent(agentToken);
    expect((await agent.nextOfType("command")).id).toBe(queued.id);

    await evictDurableObject(agentSession(env, agentId)); // hibernating socket stays open
    const pushed = await sendAgentCommand(env, agentId, { type: "job.delete", backupJobId: crypto.randomUUID() });
    expect(await agent.nextOfType("command")).toMatchObject({ id: pushed.id, seq: queued.seq + 1 });
  });

  it("seq keeps growing after every command was acknowledged and the object was evicted", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    const first = await sendAgentCommand(env, agentId, { type: "inventory.request" });
    agent.send({ type: "ack", id: (await agent.nextOfType("command")).id });
    agent.send('{ "type": "ping" }'); // answered by the session after the ack
    await agent.nextOfType("pong");
    await evictDurableObject(agentSession(env, agentId));
    const second = await sendAgentCommand(env, agentId, { type: "inventory.request" });
    expect(await agent.nextOfType("command")).toMatchObject({ id: second.id, seq: first.seq + 1 });
  });
});

describe("another subscriber", () => {
  it("cannot reach an agent that is not theirs", async () => {
    const { agentId } = await subscriberWithAgent();
    const other = await createSubscriber();
    for (const [method, path] of [
      ["GET", `/api/agent/${agentId}`],
      ["DELETE", `/api/agent/${agentId}`],
      ["POST", `/api/agent/${agentId}/inventory-request`],
    ]) {
      const res = await api(path, { method, token: other.token });
      expect(res.status).toBe(404);
      expect((await res.json<{ error: string }>()).error).toBe("Agent not found.");
    }
    expect(await (await api("/api/agent", { token: other.token })).json()).toEqual([]);
    expect(await (await api(`/api/database?agentId=${agentId}`, { token: other.token })).json()).toEqual([]);
    expect(await (await api(`/api/log?agentId=${agentId}`, { token: other.token })).json()).toEqual([]);
    expect(await db().$count(agents, and(eq(agents.id, agentId)))).toBe(1);
  });
});
