import { createMiddleware } from "hono/factory";
import type { Context, Next } from "hono";
import { createDb } from "../db/client";
import { gateOnAdmission } from "../db/admission-gate";
import type { PlanName } from "../db/schema";
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
import { assertCredentialBudget, rateLimitHeaders, recordCredentialFailure } from "../services/rate-limit";

/** Methods that read only: their handlers run while the limiter decides (see runBesideAdmission). */
const SAFE_METHODS = new Set(["GET", "HEAD"]);

/**
 * Every non-public route: a JWT session or an API key, resolved to the request's service context
 * (`c.var.ctx`), and one request of the subscriber's plan budget spent. Every response after this point,
 * errors included, carries the `RateLimit-*` headers.
 */
export const requireAuth = createMiddleware<AppBindings>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw unauthorized("Missing bearer token.");
  // An API key costs a D1 look-up: a client IP gets a budget of failed ones.
  const clientIp = token.startsWith(API_KEY_PREFIX) ? c.req.header("cf-connecting-ip") : undefined;
  const { publicCtx } = c.var;
  const now = publicCtx.now.getTime();
  assertCredentialBudget("apiKey", clientIp, now);
  const countFailure = async (err: unknown): Promise<never> => {
    if (err instanceof ApiError && err.code === "unauthorized") await recordCredentialFailure(c.env, "apiKey", clientIp, now);
    throw err;
  };
  const caller = await identifyBearer(publicCtx, token).catch(countFailure);
  // The lastUsedAt write runs beside the handler and is awaited before the response leaves.
  const pending: Promise<unknown>[] = [];
  const admission = admitCaller(publicCtx, caller, (p) => pending.push(p)).catch(countFailure);
  let admitted: Admission;
  if (SAFE_METHODS.has(c.req.method) && mayReadBeforeAdmission(caller.subscriberId, publicCtx.now)) {
    admitted = await runBesideAdmission(c, next, caller, admission);
  } else {
    admitted = await admission;
    c.set("ctx", { ...publicCtx, subscriberId: caller.subscriberId, principal: caller.principal, plan: admitted.plan });
    await next();
  }
  for (const [name, value] of Object.entries(rateLimitHeaders(admitted.rateLimit))) c.res.headers.set(name, value);
  await Promise.all(pending);
});

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
  const db = createDb(gateOnAdmission(c.var.d1, gate));
  const publicCtx = { ...c.var.publicCtx, db };
  c.set("publicCtx", publicCtx);
  c.set("ctx", {
    ...publicCtx,
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
    c.set("ctx", undefined as never); // a refused caller is not logged as its subscriber
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

/** Spread into `createRoute` for the operator API. */
export const operatorOnly = { middleware: [requireAdmin], security: [{ OperatorToken: [] }] };
