import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Db } from "../db/client";
import type { PlanName } from "../db/schema";

/** Who is calling: set by `requireAuth` on every authenticated route. */
export interface AuthContext {
  subscriberId: string;
  plan: PlanName;
  /** The user behind a JWT session, or the user who created the API key. */
  userId: string | null;
  via: "jwt" | "apikey";
  apiKeyId: string | null;
}

export interface AppBindings {
  Bindings: Env;
  Variables: {
    requestId: string;
    db: Db;
    auth: AuthContext;
  };
}

/** A handler typed by its route: params, query, body and responses all come from the route's schemas. */
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppBindings>;
