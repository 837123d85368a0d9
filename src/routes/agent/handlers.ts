import { ApiError, agentRevoked, unauthorized } from "../../lib/errors";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import * as agents from "../../services/agent";
import * as agentRelease from "../../services/agent-release";
import { bearerToken } from "../../services/bearer-auth";
import type * as routes from "./routes";
import { assertCredentialBudget, recordCredentialFailure } from "../../services/rate-limit";

type AgentRow = Awaited<ReturnType<typeof agents.listAgents>>[number];
const agentJson = (agent: AgentRow) => ({ ...agent, lastSeenUtc: isoUtc(agent.lastSeenUtc), updateAvailable: agentRelease.isUpdateAvailable(agent.version) });

export const createRegistrationToken: AppRouteHandler<typeof routes.createRegistrationToken> = async (c) => {
  const { registrationToken, expiresAt } = await agents.createRegistrationToken(c.var.ctx);
  const installCommand = agentRelease.installCommand(new URL(c.req.url).origin, registrationToken);
  return c.json({ registrationToken, expiresAt: isoUtc(expiresAt), installCommand }, 200);
};

export const registerAgent: AppRouteHandler<typeof routes.registerAgent> = async (c) => {
  const registered = await agents.registerAgent(c.var.publicCtx, c.req.valid("json"));
  return c.json(registered, 200);
};

/** The Worker checks the agent token, then hands the upgrade to the agent's session with who it is. */
export const connectAgent: AppRouteHandler<typeof routes.connectAgent> = async (c) => {
  const token = bearerToken(c.req.header("authorization"));
  const clientIp = c.req.header("cf-connecting-ip");
  const now = c.var.publicCtx.now.getTime();
  assertCredentialBudget("agentToken", clientIp, now);
  const agent = token ? await agents.authenticateAgentToken(c.var.publicCtx.db, token) : null;
  if (!agent) {
    if (token && (await agents.isRevokedAgentToken(c.var.publicCtx.db, token))) throw agentRevoked();
    await recordCredentialFailure(c.env, "agentToken", clientIp, now);
    throw unauthorized("Invalid or revoked agent token.");
  }
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("upgrade_required", "Expected a WebSocket upgrade.", { headers: { Upgrade: "websocket" } });
  }
  return agents.openAgentSocket(c.env, agent, c.req.raw);
};

export const listAgents: AppRouteHandler<typeof routes.listAgents> = async (c) => {
  const rows = await agents.listAgents(c.var.ctx);
  return c.json(rows.map(agentJson), 200);
};

export const getAgent: AppRouteHandler<typeof routes.getAgent> = async (c) => {
  const detail = await agents.getAgentDetail(c.var.ctx, c.req.valid("param").id);
  return c.json(
    {
      ...agentJson(detail),
      destinationTypes: [...detail.destinationTypes],
      engines: detail.engines.map((engine) => ({
        ...engine,
        databases: engine.databases.map((d) => ({ ...d, missingSince: isoUtc(d.missingSince) })),
      })),
    },
    200,
  );
};

export const deleteAgent: AppRouteHandler<typeof routes.deleteAgent> = async (c) => {
  await agents.deleteAgent(c.var.ctx, c.req.valid("param").id);
  return c.json({ message: "Agent deleted." }, 200);
};

export const requestAgentInventory: AppRouteHandler<typeof routes.requestAgentInventory> = async (c) => {
  await agents.requestInventory(c.var.ctx, c.req.valid("param").id);
  return c.json({ message: "Inventory requested." }, 200);
};
