import { ApiError } from "../../lib/errors";
import type { AppRouteHandler } from "../../http/types";
import { liveFeed } from "../../services/live-feed";
import type * as routes from "./routes";

export const openLiveFeed: AppRouteHandler<typeof routes.openLiveFeed> = async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("upgrade_required", "Expected a WebSocket upgrade.", { headers: { Upgrade: "websocket" } });
  }
  // The subscriber's feed gets the upgrade without the caller's credentials.
  const upgraded = await liveFeed(c.env, c.var.ctx.subscriberId).fetch(new Request(c.req.url, { headers: { Upgrade: "websocket" } }));
  // A fresh response: requireAuth adds the RateLimit-* headers to it afterwards. Its body is a socket,
  // not JSON, which the route's typing cannot describe.
  return new Response(null, { status: upgraded.status, webSocket: upgraded.webSocket }) as never;
};
