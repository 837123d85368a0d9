import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../http/router";
import { authenticated } from "../../middleware/auth";

export const openLiveFeed = createRoute({
  operationId: "openLiveFeed",
  method: "get",
  path: "/api/live",
  tags: ["Live"],
  summary: "A WebSocket of change notices for the dashboard: agent presence, run progress and run results",
  description:
    'Authenticated like the API (bearer token, or the dashboard\'s session cookie with a same-origin `Origin`). Text frames of JSON: `{"type":"agent.presence","agentId","isOnline"}`, `{"type":"backup.run","backupRunId","backupJobId?","status","bytesDone?"}`. Send `ping` to get `pong`.',
  ...authenticated,
  responses: { 101: { description: "Switching protocols: the live feed is open" }, ...errorResponses(401, 403, 426, 429) },
});
