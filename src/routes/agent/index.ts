import { createRouter } from "../../lib/router";
import {
  connectAgentHandler,
  createRegistrationTokenHandler,
  deleteAgentHandler,
  getAgentHandler,
  listAgentsHandler,
  registerAgentHandler,
  requestAgentInventoryHandler,
} from "./handlers";
import { connectAgent, createRegistrationToken, deleteAgent, getAgent, listAgents, registerAgent, requestAgentInventory } from "./routes";

// The fixed paths come before /api/agent/{id}, which would otherwise match them.
export const agentRouter = createRouter()
  .openapi(connectAgent, connectAgentHandler)
  .openapi(createRegistrationToken, createRegistrationTokenHandler)
  .openapi(registerAgent, registerAgentHandler)
  .openapi(listAgents, listAgentsHandler)
  .openapi(getAgent, getAgentHandler)
  .openapi(deleteAgent, deleteAgentHandler)
  .openapi(requestAgentInventory, requestAgentInventoryHandler);
