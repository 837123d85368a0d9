import { ApiError, unauthorized } from "../../lib/errors";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../lib/types";
import * as agentService from "../../services/agents";
import { bearerToken } from "../../services/authentication";
import type { connectAgent, createRegistrationToken, deleteAgent, getAgent, listAgents, registerAgent, requestAgentInventory } from "./routes";

type AgentRow = Awaited<ReturnType<typeof agentService.listAgents>>[number];
const agentJson = (agent: AgentRow) => ({ ...agent, lastSeenUtc: isoUtc(agent.lastSeenUtc) });

export const createRegistrationTokenHandler: AppRouteHandler<typeof createRegistrationToken> = async (c) => {
  const { registrationToken, expiresAt } = await agentService.createRegistrationToken(c.var.ctx);
  return c.json({ registrationToken, expiresAt: isoUtc(expiresAt) }, 200);
};

export const registerAgentHandler: AppRouteHandler<typeof registerAgent> = async (c) => {
  const registered = await agentService.registerAgent(c.var.publicCtx, c.req.valid("json"));
  return c.json(registered, 200);
};

/** The Worker checks the agent token, then hands the upgrade to the agent's session with who it is. */
export const connectAgentHandler: AppRouteHandler<typeof connectAgent> = async (c) => {
  const token = bearerToken(c.req.header("authorization"));
  const agent = token ? await agentService.authenticateAgentToken(c.var.publicCtx.db, token) : null;
  if (!agent) throw unauthorized("Invalid or revoked agent token.");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("upgrade_required", "Expected a WebSocket upgrade.", { headers: { Upgrade: "websocket" } });
  }
  return agentService.openAgentSocket(c.env, agent, c.req.raw);
};

export const listAgentsHandler: AppRouteHandler<typeof listAgents> = async (c) => {
  const rows = await agentService.listAgents(c.var.ctx);
  return c.json(rows.map(agentJson), 200);
};

export const getAgentHandler: AppRouteHandler<typeof getAgent> = async (c) => {
  const detail = await agentService.getAgentDetail(c.var.ctx, c.req.valid("param").id);
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
  await agentService.deleteAgent(c.var.ctx, c.req.valid("param").id);
  return c.json({ message: "Agent deleted." }, 200);
};

export const requestAgentInventoryHandler: AppRouteHandler<typeof requestAgentInventory> = async (c) => {
  await agentService.requestInventory(c.var.ctx, c.req.valid("param").id);
  return c.json({ message: "Inventory requested." }, 200);
};
