import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { D1Client } from "../db/client";
import type { PublicContext, ServiceContext } from "../services/context";

export interface AppBindings {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The request's D1 session (see middleware/d1-session.ts), under `publicCtx.db` and `ctx.db`. */
    d1: D1Client;
    /** Every request: the database, bindings, clock and `waitUntil`. */
    publicCtx: PublicContext;
    /** Authenticated routes: the same plus the subscriber, its plan and the principal (set by `requireAuth`). */
    ctx: ServiceContext;
    /**
     * Who called, by id, for the request log: set by `requireAuth` once the limiter has accepted the token,
     * also when the plan then refuses the request (403, 429); never for a token refused (401).
     */
    caller: { subscriberId: string; apiKeyId?: string };
  };
}

/** A handler typed by its route: params, query, body and responses all come from the route's schemas. */
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppBindings>;
