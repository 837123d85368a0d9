import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { Context, Next } from "hono";
import { createDb } from "../db/client";
import { gateOnAdmission } from "../db/admission-gate";
import type { PlanName } from "../db/schema";
import { tenantDb } from "../db/tenant";
import { timingSafeEqual } from "../lib/crypto";
import { ApiError, unauthorized } from "../lib/errors";
import type { AppBindings } from "../http/types";
import {
  API_KEY_PREFIX,
  type Admission,
  type Caller,
  admitCaller,
  bearerToken,
  identifyBearer,
  mayReadBeforeAdmission,
} from "../services/bearer-auth";
import { SESSION_COOKIE } from "../services/browser-session";
import { assertCredentialBudget, rateLimitHeaders, recordCredentialFailure } from "../services/rate-limit";
import { identifySessionCookie } from "./session-cookie";

/** Methods that read only: their handlers run while the limiter decides (see runBesideAdmission). */
const SAFE_METHODS = new Set(["GET", "HEAD"]);

/**
 * Every non-public route: a JWT session, an API key or the dashboard's session cookie, resolved to the
 * request's service context (`c.var.ctx`), and one request of the subscriber's plan budget spent. Every
 * response after this point, errors included, carries the `RateLimit-*` headers.
 *
 * `agentParam`: the route acts on the agent its path parameter names; the limiter says in the same call
 * whether that agent is the caller's (`ctx.namedAgent`), which saves the handler a D1 read.
 */
const authMiddleware = (agentParam?: string) => createMiddleware<AppBindings>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  const cookie = token ? undefined : getCookie(c, SESSION_COOKIE);
  if (!token && !cookie) throw unauthorized("Missing bearer token.");
  // An API key or a session cookie costs a D1 look-up: a client IP gets a budget of failed ones.
  const scope = token ? "apiKey" : "sessionCookie";
  const clientIp = !token || token.startsWith(API_KEY_PREFIX) ? c.req.header("cf-connecting-ip") : undefined;
  const { publicCtx } = c.var;
  const now = publicCtx.now.getTime();
  assertCredentialBudget(scope, clientIp, now);
  const countFailure = async (err: unknown): Promise<never> => {
    if (err instanceof ApiError && err.code === "unauthorized") await recordCredentialFailure(c.env, scope, clientIp, now);
    throw err;
  };
  // The log names the caller when the token is good, whatever the plan then says (403, 429).
  const logCaller = ({ subscriberId, principal }: Caller) => c.set("caller", { subscriberId, apiKeyId: principal.kind === "apikey" ? principal.apiKeyId : undefined });
  const caller = await (token ? identifyBearer(publicCtx, token, createDb(c.env.DB)) : identifySessionCookie(c, cookie!)).catch(countFailure);
  // A WebSocket upgrade (GET /api/live) waits: its handler opens a socket in a Durable Object, not a D1 read.
  const upgrade = c.req.header("upgrade") !== undefined;
  const beside = SAFE_METHODS.has(c.req.method) && !upgrade && mayReadBeforeAdmission(caller.subscriberId, publicCtx.now);
  // A read beside the admission has its own D1 reads under way already: the limiter is not asked.
  const agentId = agentParam && !beside ? c.req.param(agentParam) : undefined;
  // One admission step for both: the lastUsedAt write runs beside the handler and is awaited before the response leaves.
  const pending: Promise<unknown>[] = [];
  const admission = admitCaller(publicCtx, caller, (p) => pending.push(p), agentId).then(
    (admitted) => {
      logCaller(caller);
      return admitted;
    },
    (err: unknown) => {
      if (!(err instanceof ApiError && err.code === "unauthorized")) logCaller(caller);
      return countFailure(err);
    },
  );
  let admitted: Admission;
  if (beside) {
    admitted = await runBesideAdmission(c, next, caller, admission);
  } else {
    admitted = await admission;
    const db = tenantDb(publicCtx.db, caller.subscriberId);
    const { plan, namedAgent } = admitted;
    c.set("ctx", { ...publicCtx, db, subscriberId: caller.subscriberId, principal: caller.principal, plan, namedAgent });
    await next();
  }
  for (const [name, value] of Object.entries(rateLimitHeaders(admitted.rateLimit))) c.res.headers.set(name, value);
  await Promise.all(pending);
});

export const requireAuth = authMiddleware();

/**
 * A read runs its handler while the limiter decides, saving the limiter's round trip: the handler's D1
 * reads start at once, but every statement's result (and any write) waits for the admission (see
 * db/admission-gate.ts), so a refused request sees no row and writes nothing, whatever its handler
 * does. Its refusal then replaces whatever the handler answered. The plan is known only once admitted.
 */
async function runBesideAdmission(c: Context<AppBindings>, next: Next, caller: Caller, admission: Promise<Admission>): Promise<Admission> {
  let plan: PlanName | undefined;
  const gate = admission.then((admitted) => {
    plan = admitted.plan;
  });
  gate.catch(() => undefined); // the refusal is thrown below
  const gatedDb = createDb(gateOnAdmission(c.var.d1, gate));
  const publicCtx = { ...c.var.publicCtx, db: gatedDb };
  c.set("publicCtx", publicCtx);
  c.set("ctx", {
    ...publicCtx,
    db: tenantDb(gatedDb, caller.subscriberId),
    subscriberId: caller.subscriberId,
    principal: caller.principal,
    get plan(): PlanName {
      if (!plan) throw new Error("ctx.plan was read before the limiter admitted the request: read it after a D1 read, or from D1.");
      return plan;
    },
  });
  await next();
  try {
    return await admission;
  } catch (err) {
    c.set("ctx", undefined as never); // what the handler ran on belongs to no one admitted
    throw err;
  }
}

/** The operator API: the `ADMIN_TOKEN` secret, compared in constant time. */
export const requireAdmin = createMiddleware<AppBindings>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  const clientIp = c.req.header("cf-connecting-ip");
  const now = c.var.publicCtx.now.getTime();
  assertCredentialBudget("adminToken", clientIp, now);
  if (!token || !c.env.ADMIN_TOKEN || !timingSafeEqual(token, c.env.ADMIN_TOKEN)) {
    await recordCredentialFailure(c.env, "adminToken", clientIp, now);
    throw unauthorized("Missing or invalid operator token.");
  }
  await next();
});

/** Spread into `createRoute` for routes that need a token: runs `requireAuth` and documents the scheme. */
export const authenticated = { middleware: [requireAuth], security: [{ Bearer: [] }] };

/** `authenticated` for a route acting on the agent `{id}`: the limiter also says whether it is the caller's. */
export const authenticatedForAgent = { middleware: [authMiddleware("id")], security: [{ Bearer: [] }] };

/** Spread into `createRoute` for the operator API. */
export const operatorOnly = { middleware: [requireAdmin], security: [{ OperatorToken: [] }] };
