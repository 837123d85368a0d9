import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { openAgentSocket } from "../../../src/services/agent";
import { api, createSubscriber } from "../../helpers";
import { connectRequest, subscriberWithAgent } from "../../support/agent";

const revokedAnswer = { error: "This agent was deleted on the platform: wipe its state and enroll again.", code: "agent_revoked" };

describe("revoking an agent that is offline", () => {
  it("its next connect is a 401 agent_revoked (so it wipes its state); a bogus token stays a plain 401", async () => {
    const { agentId, agentToken, token } = await subscriberWithAgent();
    expect((await api(`/api/agent/${agentId}`, { method: "DELETE", token })).status).toBe(200);

    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await connectRequest(agentToken);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      expect(await res.json()).toMatchObject(revokedAnswer);
    }
    const bogus = await connectRequest(`ds_agent_${crypto.randomUUID()}`);
    expect(bogus.status).toBe(401);
    expect(await bogus.json()).toMatchObject({ code: "unauthorized" });
  });

  it("another subscriber's deletes do not touch it, and its session refuses an upgrade that raced the delete", async () => {
    const { agentId, agentToken, subscriberId, token } = await subscriberWithAgent();
    const identity = { agentId, subscriberId, hostname: "PROD-SQL-01", displayName: null };
    const other = await createSubscriber();
    expect((await api(`/api/agent/${agentId}`, { method: "DELETE", token: other.token })).status).toBe(404);
    expect((await connectRequest(agentToken)).status).toBe(101);

    // The Worker checked the token just before the delete; the upgrade reaches the session after it.
    expect((await api(`/api/agent/${agentId}`, { method: "DELETE", token })).status).toBe(200);
    const raced = await openAgentSocket(env, identity, new Request("http://localhost/api/agent/connect", { headers: { Upgrade: "websocket" } }));
    expect(raced.status).toBe(401);
    expect(await raced.json()).toMatchObject(revokedAnswer);
    // Nothing is kept for it: a command sent after the delete is not stored.
    const queued = await runInDurableObject(env.AGENT_SESSION.getByName(agentId), async (_instance, state) => {
      await env.AGENT_SESSION.getByName(agentId).enqueue({ type: "inventory.request" });
      return state.storage.sql.exec("SELECT count(*) AS n FROM commands").one().n;
    });
    expect(queued).toBe(0);
  });
});
