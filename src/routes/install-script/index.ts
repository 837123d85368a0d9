import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../http/router";
import type { AppRouteHandler } from "../../http/types";
import { CURRENT_AGENT_VERSION, installScript } from "../../services/agent-release";

export const getInstallScript = createRoute({
  operationId: "getInstallScript",
  security: [],
  method: "get",
  path: "/install.sh",
  tags: ["Agents"],
  summary: "The agent installer: curl -fsSL <origin>/install.sh | sh -s -- --token ds_reg_…",
  description: `Checks for Node.js 22, installs /downloads/datasync-agent-${CURRENT_AGENT_VERSION}.tgz after checking its SHA-256, enrolls with the registration token and installs the systemd service. Public.`,
  responses: { 200: { description: "A POSIX shell script that installs the agent from this origin", content: { "text/plain": { schema: z.string() } } } },
});

/** Generated per request so the script downloads from, and enrolls with, the origin it was fetched from. */
const getInstallScriptHandler: AppRouteHandler<typeof getInstallScript> = (c) => {
  c.header("Cache-Control", "no-cache");
  return c.text(installScript(new URL(c.req.url).origin), 200);
};

export const installScriptRouter = createRouter().openapi(getInstallScript, getInstallScriptHandler);
