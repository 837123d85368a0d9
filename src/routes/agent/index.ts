import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

// The fixed paths come before /api/agent/{id}, which would otherwise match them.
export const agentRouter = createRouter()
  .openapi(routes.connectAgent, handlers.connectAgent)
  .openapi(routes.createRegistrationToken, handlers.createRegistrationToken)
  .openapi(routes.registerAgent, handlers.registerAgent)
  .openapi(routes.listAgents, handlers.listAgents)
  .openapi(routes.getAgent, handlers.getAgent)
  .openapi(routes.deleteAgent, handlers.deleteAgent)
  .openapi(routes.requestAgentInventory, handlers.requestAgentInventory);
