import { createRoute, z } from "@hono/zod-openapi";
import { MessageSchema, errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { authenticated, authenticatedForAgent } from "../../middleware/auth";
import { AgentDetailSchema, AgentIdParams, AgentRegisterSchema, AgentRegisteredSchema, AgentSchema, RegistrationTokenSchema } from "./schemas";

const tags = ["Agents"];

export const createRegistrationToken = createRoute({
  operationId: "createRegistrationToken",
  method: "post",
  path: "/api/agent/registration-token",
  tags,
  summary: "Create a one-time token (valid 24 h) for installing an agent",
  ...authenticated,
  responses: { 200: jsonResponse(RegistrationTokenSchema, "Registration token created"), ...errorResponses(401, 403) },
});

export const registerAgent = createRoute({
  operationId: "registerAgent",
  security: [],
  method: "post",
  path: "/api/agent/register",
  tags,
  summary: "Enroll an agent with a registration token (public; the token is used up)",
  request: { body: jsonBody(AgentRegisterSchema) },
  responses: { 200: jsonResponse(AgentRegisteredSchema, "Agent enrolled"), ...errorResponses(400, 403, 429) },
});

export const connectAgent = createRoute({
  operationId: "connectAgent",
  method: "get",
  path: "/api/agent/connect",
  tags,
  summary: "The agent's WebSocket (Authorization: Bearer <agentToken>); see docs/agent-protocol.md",
  security: [{ AgentToken: [] }],
  responses: {
    101: { description: "Switching protocols: the agent socket is open" },
    ...errorResponses(401, 426, 429),
  },
});

export const listAgents = createRoute({
  operationId: "listAgents",
  method: "get",
  path: "/api/agent",
  tags,
  summary: "All agents of your subscriber with their live connection status",
  ...authenticated,
  responses: { 200: jsonResponse(z.array(AgentSchema), "Agent list returned"), ...errorResponses(401) },
});

export const getAgent = createRoute({
  operationId: "getAgent",
  method: "get",
  path: "/api/agent/{id}",
  tags,
  summary: "One agent with its discovered engines and their databases",
  ...authenticated,
  request: { params: AgentIdParams },
  responses: { 200: jsonResponse(AgentDetailSchema, "Agent details returned"), ...errorResponses(401, 404) },
});

export const deleteAgent = createRoute({
  operationId: "deleteAgent",
  method: "delete",
  path: "/api/agent/{id}",
  tags,
  summary: "Delete an agent: its token is revoked, its socket closed, its engines removed, its jobs orphaned",
  ...authenticated,
  request: { params: AgentIdParams },
  responses: { 200: jsonResponse(MessageSchema, "Agent deleted"), ...errorResponses(401, 404) },
});

export const requestAgentInventory = createRoute({
  operationId: "requestAgentInventory",
  method: "post",
  path: "/api/agent/{id}/inventory-request",
  tags,
  summary: "Ask the agent to report its engines and databases again (now, or when it next connects)",
  ...authenticatedForAgent,
  request: { params: AgentIdParams },
  responses: { 200: jsonResponse(MessageSchema, "Inventory requested"), ...errorResponses(401, 404) },
});
