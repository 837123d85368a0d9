import { Scalar } from "@scalar/hono-api-reference";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppBindings } from "../../http/types";
import { completeDocument } from "./document";

/** Where `npm run build:web` puts @scalar/api-reference's standalone script in the assets. */
export const SCALAR_SCRIPT_PATH = "/vendor/scalar/standalone.js";

/** `GET /api/openapi.json` (generated from the same zod schemas that validate requests) and `GET /docs`. */
export function mountApiDocs(app: OpenAPIHono<AppBindings>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "Bearer", {
    type: "http",
    scheme: "bearer",
    description: "A JWT from POST /api/auth/login, or an API key `ds_live_…` (Professional+).",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "OperatorToken", {
    type: "http",
    scheme: "bearer",
    description: "The operator's ADMIN_TOKEN secret.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "AgentToken", {
    type: "http",
    scheme: "bearer",
    description: "An agent's own token `ds_agent_…` from POST /api/agent/register.",
  });
  app.get("/api/openapi.json", (c) =>
    c.json(
      completeDocument(
        app.getOpenAPI31Document({
          openapi: "3.1.0",
          info: {
            title: "DataSync API",
            version: "1.0.0",
            description: "Control plane for automated database backups: agents, jobs, runs, backup files, logs and webhooks.",
          },
          servers: [{ url: new URL(c.req.url).origin }],
        }),
      ),
    ),
  );
  // The reference UI's script comes from our own assets (copied there by `npm run build:web`), not a
  // CDN: the page must work offline and in locked-down networks.
  app.get("/docs", Scalar({ url: "/api/openapi.json", pageTitle: "DataSync API", cdn: SCALAR_SCRIPT_PATH }));
}
