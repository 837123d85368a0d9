import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, createSubscriber } from "../../helpers";
import { connectAgent, enroll, subscriberWithAgent } from "../../support/agent";

const requestInventory = (agentId: string, token?: string) => api(`/api/agent/${agentId}/inventory-request`, { method: "POST", token });

async function expectAgentNotFound(res: Response) {
  expect(res.status).toBe(404);
  expect(await res.json()).toMatchObject({ error: "Agent not found.", code: "not_found" });
}

/** Whether the agent's session (its Durable Object) was ever created. */
async function sessionExists(agentId: string): Promise<boolean> {
  const ids = await listDurableObjectIds(env.AGENT_SESSION);
  return ids.some((id) => id.equals(env.AGENT_SESSION.idFromName(agentId)));
}

describe("POST /api/agent/{id}/inventory-request", () => {
  it("pushes inventory.request to the connected agent", async () => {
    const { agentId, agentToken, token } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    const res = await requestInventory(agentId, token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Inventory requested." });
    expect(res.headers.get("ratelimit-remaining")).not.toBeNull();
    expect((await agent.nextOfType("command")).command).toEqual({ type: "inventory.request" });
    expect(await sessionExists(agentId)).toBe(true);
  });

  it("is 401 without a token", async () => {
    const { agentId } = await subscriberWithAgent();
    const res = await requestInventory(agentId);
    expect(res.status).toBe(401);
  });

  it("is 404 for another subscriber's agent and for an unknown id, and creates no session for either", async () => {
    const { agentId } = await subscriberWithAgent();
    const other = await createSubscriber();
    const unknownId = crypto.randomUUID();
    // The other subscriber's limiter has its (empty) agent list loaded before and after.
    expect((await api("/api/agent", { token: other.token })).status).toBe(200);
    for (const id of [agentId, unknownId, agentId]) await expectAgentNotFound(await requestInventory(id, other.token));
    expect(await sessionExists(agentId)).toBe(false);
    expect(await sessionExists(unknownId)).toBe(false);
  });

  it("a deleted agent is 404 right after the delete, though a command to it had just succeeded", async () => {
    const { agentId, agentToken, token } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    expect((await requestInventory(agentId, token)).status).toBe(200);
    await agent.nextOfType("command");
    expect((await api(`/api/agent/${agentId}`, { method: "DELETE", token })).status).toBe(200);
    await expectAgentNotFound(await requestInventory(agentId, token));
    expect((await agent.closed).code).toBe(4001);
  });

  it("an agent enrolled after a command to a sibling is reachable at once", async () => {
    const { agentId, token } = await subscriberWithAgent({ plan: "Starter" });
    expect((await requestInventory(agentId, token)).status).toBe(200);
    const second = await enroll(token, { hostname: "PROD-SQL-02" });
    expect((await requestInventory(second.agentId, token)).status).toBe(200);
    // Queued while it was offline: it gets the command when it connects.
    const agent = await connectAgent(second.agentToken);
    expect((await agent.nextOfType("command")).command).toEqual({ type: "inventory.request" });
  });
});
