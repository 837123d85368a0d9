import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { logMessages } from "../../../src/db/schema";
import { APPLIED_ID_RETENTION_MS } from "../../../src/durable-objects/agent-session";
import { isoUtc } from "../../../src/lib/time";
import { agentSession } from "../../../src/services/agent";
import { db } from "../../helpers";
import { type TestAgent, connectAgent, subscriberWithAgent } from "../../support/agent";
import { T0, time } from "../../support/manual-clock";

const logFrame = (message: string) => ({ type: "log" as const, id: crypto.randomUUID(), severity: "Information" as const, message, timestamp: isoUtc(new Date(time.now)) });

/** A frame the session handles itself (not the runtime's auto-response): a sign of life at the clock's time. */
async function signOfLife(agent: TestAgent) {
  agent.send('{ "type": "ping" }');
  await agent.nextOfType("pong");
}

/** The message ids the session remembers as applied (its dedupe bookkeeping). */
async function rememberedIds(agentId: string): Promise<string[]> {
  return runInDurableObject(agentSession(env, agentId), (_session, state) =>
    state.storage.sql.exec<{ id: string }>("SELECT id FROM applied_messages").toArray().map((r) => r.id),
  );
}

describe("agent session housekeeping", () => {
  it("the alarm of a connected agent forgets message ids applied more than 7 days ago, and only those", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    time.freezeAt(T0);
    const agent = await connectAgent(agentToken);
    const old = logFrame("applied at T0");
    expect(await agent.request(old)).toEqual({ type: "ack", id: old.id });
    time.now = T0 + 2 * 24 * 3600_000;
    const young = logFrame("applied two days later");
    expect(await agent.request(young)).toEqual({ type: "ack", id: young.id });

    time.now = T0 + APPLIED_ID_RETENTION_MS - 60_000;
    await signOfLife(agent);
    expect(await runDurableObjectAlarm(agentSession(env, agentId))).toBe(true);
    expect((await rememberedIds(agentId)).sort()).toEqual([old.id, young.id].sort());

    time.now = T0 + APPLIED_ID_RETENTION_MS + 60_000;
    await signOfLife(agent);
    expect(await runDurableObjectAlarm(agentSession(env, agentId))).toBe(true);
    expect(await rememberedIds(agentId)).toEqual([young.id]);
    // The young id still dedupes: a repeat is acknowledged and stored once.
    expect(await agent.request(young)).toEqual({ type: "ack", id: young.id });
    const rows = await db().select().from(logMessages).where(eq(logMessages.id, young.id));
    expect(rows).toHaveLength(1);
  });
});
