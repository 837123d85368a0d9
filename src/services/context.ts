import type { Db } from "../db/client";
import type { PlanName } from "../db/schema";
import { forbidden } from "../lib/errors";

/** How a login session reaches the API: a bearer access token (JWT), or the dashboard's session cookie. */
export type SessionCarrier = "bearer" | "cookie";

/** Who acts: a user's login session, an API key (and the user who created it), or an agent over its socket. */
export type Principal =
  | { kind: "session"; userId: string; session: { sessionId: string; expiresAt: Date; via: SessionCarrier } }
  | { kind: "apikey"; apiKeyId: string; userId: string | null }
  | { kind: "agent"; agentId: string };

/**
 * The one context every service takes: built once per request by the auth middleware (`c.var.ctx`), once
 * per agent message by the AgentSession. Services that need less take a `Pick` of it, so a cron task or a
 * queue consumer can call them with what it has.
 */
export interface ServiceContext {
  db: Db;
  env: Env;
  /** The request's instant from the injected clock, so tests drive time without sleeping. */
  now: Date;
  /** Work that may finish after the response (emails to the provider). */
  waitUntil: (promise: Promise<unknown>) => void;
  subscriberId: string;
  /**
   * The subscriber's plan, from the limiter. A GET runs beside the limiter's decision (middleware/auth.ts):
   * there it is known once a D1 read has answered, and reading it before throws.
   */
  plan: PlanName;
  principal: Principal;
  /**
   * The agent the request's path names, as the subscriber's limiter judged it while admitting the request
   * (routes with `authenticatedForAgent`): whether it is this subscriber's, known without a D1 read.
   */
  namedAgent?: { agentId: string; owned: boolean };
}

/** Before anyone is authenticated (register, login, agent enrolment, the operator API): no tenant yet. */
export type PublicContext = Pick<ServiceContext, "db" | "env" | "now" | "waitUntil">;

/** What activity records need: the tenant and the instant. */
export type TenantScope = Pick<ServiceContext, "db" | "subscriberId" | "now">;

/** The user behind the principal, if any: the session's user or the key's creator. */
export function actingUserId(principal: Principal): string | null {
  return principal.kind === "agent" ? null : principal.userId;
}

export type SessionPrincipal = Extract<Principal, { kind: "session" }>;

/**
 * The login session behind the request, for what only a person who logged in may do (log out, change the
 * password or 2FA, delete the account): 403 for an API key, which must not be able to take over the account.
 */
export function requireLoginSession(principal: Principal, action: string): SessionPrincipal {
  if (principal.kind !== "session") throw forbidden(`${action} needs a login session, not an API key.`);
  return principal;
}
