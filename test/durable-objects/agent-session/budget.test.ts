import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { engines, logMessages } from "../../../src/db/schema";
import { AGENT_BUDGET, OVER_BUDGET_ERROR, type ServerFrame } from "../../../src/protocol/agent-protocol";
import { db } from "../../helpers";
import { type TestAgent, connectAgent, subscriberWithAgent } from "../../support/agent";
import { T0, time } from "../../support/manual-clock";

const id = () => crypto.randomUUID();
const logFrame = (n: number) => ({ type: "log" as const, id: id(), severity: "Information" as const, message: `line ${n}`, timestamp: "2026-11-27T10:00:00Z" });

/** Sends every frame at once, then reads one answer per frame (acks and errors, in any order). */
async function burst(agent: TestAgent, frames: Record<string, unknown>[]): Promise<ServerFrame[]> {
  for (const frame of frames) agent.send(frame);
  const answers: ServerFrame[] = [];
  for (let i = 0; i < frames.length; i++) answers.push(await agent.next());
  return answers;
}

const overBudget = (answers: ServerFrame[]) => answers.filter((a) => a.type === "error" && a.error.startsWith(OVER_BUDGET_ERROR));
const agentRows = (agentId: string) => db().$count(logMessages, and(eq(logMessages.agentId, agentId), eq(logMessages.source, "agent")));

describe("each agent has a budget", () => {
  it("log rows: a burst, then a steady refill; over budget is an error frame and nothing stored", async () => {
    time.freezeAt(T0);
    const { agentId, agentToken } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    const first = await burst(agent, Array.from({ length: AGENT_BUDGET.logRowBurst + 5 }, (_, n) => logFrame(n)));
    expect(first.filter((a) => a.type === "ack")).toHaveLength(AGENT_BUDGET.logRowBurst);
    expect(overBudget(first)).toHaveLength(5);
    expect(await agentRows(agentId)).toBe(AGENT_BUDGET.logRowBurst);

    time.now = T0 + 1_000; // one second refills 2 log rows (120 a minute)
    const later = await burst(agent, [logFrame(1), logFrame(2), logFrame(3)]);
    expect(later.map((a) => a.type).sort()).toEqual(["ack", "ack", "error"]);
    agent.close();
  }, 60_000);

  it("frames: more than the burst at once is refused frame by frame", async () => {
    time.freezeAt(T0);
    const { agentToken } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    // files.deleted is answered without a write: the cheapest frame to count with.
    const frames = Array.from({ length: AGENT_BUDGET.frameBurst + 10 }, () => ({ type: "files.deleted", id: id(), files: [{ destinationId: crypto.randomUUID(), fileName: "a.bak" }], reason: "retention" }));
    const answers = await burst(agent, frames);
    expect(overBudget(answers)).toHaveLength(10);
    agent.close();
  }, 60_000);

  it("inventories are capped per engine and per agent; nothing of a refused one is stored", async () => {
    const { agentId, agentToken } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    const engine = (key: string, count: number) => ({ engineKey: key, dbmsType: "PostgreSql", version: "17", databases: Array.from({ length: count }, (_, n) => ({ name: `db${n}` })) });
    const tooManyEngines = { type: "inventory" as const, id: id(), engines: Array.from({ length: AGENT_BUDGET.enginesPerAgent + 1 }, (_, n) => engine(`pg${n}`, 1)) };
    const tooBigEngine = { type: "inventory" as const, id: id(), engines: [engine("pg", AGENT_BUDGET.databasesPerEngine + 1)] };
    const tooManyInAll = { type: "inventory" as const, id: id(), engines: [1, 2, 3].map((n) => engine(`pg${n}`, AGENT_BUDGET.databasesPerEngine)) };
    for (const frame of [tooManyEngines, tooBigEngine, tooManyInAll]) {
      const answer = await agent.request(frame as never);
      expect(answer).toMatchObject({ type: "error", id: frame.id, error: expect.stringMatching(/^Over budget: an inventory lists at most/) });
    }
    expect(await db().$count(engines, eq(engines.agentId, agentId))).toBe(0);
    expect(await agent.request({ type: "inventory", id: id(), engines: [engine("pg", 3)] } as never)).toMatchObject({ type: "ack" });
    agent.close();
  });

  it("sustained abuse closes the socket with 1008 and leaves exactly one Warning", async () => {
    time.freezeAt(T0);
    const { agentId, agentToken } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    const frames = Array.from({ length: AGENT_BUDGET.logRowBurst + AGENT_BUDGET.closeAfterRefusalsPerMinute + 20 }, (_, n) => logFrame(n));
    for (const frame of frames) agent.send(frame);
    expect((await agent.closed).code).toBe(1008);
    const warnings = await db()
      .select()
      .from(logMessages)
      .where(and(eq(logMessages.agentId, agentId), eq(logMessages.source, "platform"), eq(logMessages.severity, "Warning")));
    expect(warnings.filter((w) => w.message.includes("budget"))).toHaveLength(1);
    expect(await agentRows(agentId)).toBe(AGENT_BUDGET.logRowBurst);
  }, 60_000);
});
