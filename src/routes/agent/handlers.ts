import { AGENT_IDENTITY_HEADER } from "../../durable-objects/agent-session";
import { clock } from "../../lib/clock";
import { ApiError, unauthorized } from "../../lib/errors";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../lib/types";
import * as agentRelease from "../../services/agent-release";
import * as agentService from "../../services/agents";
import type { connectAgent, createRegistrationToken, deleteAgent, getAgent, listAgents, registerAgent, requestAgentInventory } from "./routes";

type AgentRow = Awaited<ReturnType<typeof agentService.listAgents>>[number];
const agentJson = (agent: AgentRow) => ({ ...agent, lastSeenUtc: isoUtc(agent.lastSeenUtc), updateAvailable: agentRelease.isUpdateAvailable(agent.version) });

export const createRegistrationTokenHandler: AppRouteHandler<typeof createRegistrationToken> = async (c) => {
  const { subscriberId, plan } = c.var.auth;
  const { registrationToken, expiresAt } = await agentService.createRegistrationToken({ db: c.var.db, subscriberId, plan, now: clock.now() });
  const installCommand = agentRelease.installCommand(new URL(c.req.url).origin, registrationToken);
  return c.json({ registrationToken, expiresAt: isoUtc(expiresAt), installCommand }, 200);
};

export const registerAgentHandler: AppRouteHandler<typeof registerAgent> = async (c) => {
  const registered = await agentService.registerAgent({ db: c.var.db, now: clock.now() }, c.req.valid("json"));
  return c.json(registered, 200);
};

/** The Worker checks the agent token, then hands the upgrade to the agent's session with who it is. */
export const connectAgentHandler: AppRouteHandler<typeof connectAgent> = async (c) => {
  const token = c.req.header("authorization")?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  const agent = token ? await agentService.authenticateAgentToken(c.var.db, token) : null;
  if (!agent) throw unauthorized("Invalid or revoked agent token.");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("upgrade_required", "Expected a WebSocket upgrade.", { headers: { Upgrade: "websocket" } });
  }
  const headers = new Headers(c.req.raw.headers);
  headers.delete("authorization");
  headers.set(AGENT_IDENTITY_HEADER, JSON.stringify(agent));
  return agentService.agentSession(c.env, agent.agentId).fetch(new Request(c.req.url, { headers }));
};

export const listAgentsHandler: AppRouteHandler<typeof listAgents> = async (c) => {
  const rows = await agentService.listAgents({ db: c.var.db, subscriberId: c.var.auth.subscriberId });
  return c.json(rows.map(agentJson), 200);
};

export const getAgentHandler: AppRouteHandler<typeof getAgent> = async (c) => {
  const detail = await agentService.getAgentDetail({ db: c.var.db, subscriberId: c.var.auth.subscriberId }, c.req.valid("param").id);
  return c.json(
    {
      ...agentJson(detail),
      engines: detail.engines.map((engine) => ({
        ...engine,
        databases: engine.databases.map((d) => ({ ...d, missingSince: isoUtc(d.missingSince) })),
      })),
    },
    200,
  );
};

export const deleteAgentHandler: AppRouteHandler<typeof deleteAgent> = async (c) => {
  await agentService.deleteAgent({ db: c.var.db, env: c.env, subscriberId: c.var.auth.subscriberId, now: clock.now() }, c.req.valid("param").id);
  return c.json({ message: "Agent deleted." }, 200);
};

export const requestAgentInventoryHandler: AppRouteHandler<typeof requestAgentInventory> = async (c) => {
  await agentService.requestInventory({ db: c.var.db, env: c.env, subscriberId: c.var.auth.subscriberId }, c.req.valid("param").id);
  return c.json({ message: "Inventory requested." }, 200);
};
