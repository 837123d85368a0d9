import { ApiError } from "../lib/errors";
import { PLAN_LIMITS } from "./plan";

/** The plans' rate window: "requests per minute" over any rolling minute. */
export const PLAN_WINDOW_MS = 60_000;

/**
 * Per client IP (`CF-Connecting-IP`) limits of the public endpoints, each scope its own budget.
 * Plan-independent, so they live here rather than in PLAN_LIMITS.
 */
export const PUBLIC_RATE_LIMITS = {
  register: { limit: 30, windowMs: 60_000 },
  confirmEmail: { limit: 30, windowMs: 60_000 },
  forgotPassword: { limit: 30, windowMs: 60_000 },
  resetPassword: { limit: 30, windowMs: 60_000 },
  agentRegister: { limit: 30, windowMs: 60_000 },
  login: { limit: 60, windowMs: 60_000 },
} as const;
export type PublicScope = keyof typeof PUBLIC_RATE_LIMITS;

/** Failed logins per email before the account is locked for the rest of the window, right password or not. */
export const LOGIN_FAILURES = { limit: 10, windowMs: 15 * 60_000 } as const;

/** The longest log any limiter needs: the largest limit of all the tables above. */
export const MAX_LOG_LENGTH = Math.max(
  ...Object.values(PLAN_LIMITS).map((p) => p.requestsPerMinute),
  ...Object.values(PUBLIC_RATE_LIMITS).map((p) => p.limit),
  LOGIN_FAILURES.limit,
);

export interface RateWindow {
  limit: number;
  windowMs: number;
}

/** What a limiter decided, and what the client is told about it in headers. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Requests left in the window after this one. */
  remaining: number;
  /** Seconds until the oldest counted request leaves the window, i.e. until `remaining` goes up. */
  resetSeconds: number;
}

const wholeSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * The sliding-log rule: a request at `now` is allowed when fewer than `limit` requests were accepted in
 * (now − window, now]. `log` holds accepted timestamps, oldest first; `counting` says whether this request
 * would itself be added (a rate limit) or only checked (the login lockout checks before it records).
 *
 * Why a log and not GCRA or a fixed/sliding counter: GCRA with burst N refills one request every
 * window/N, so a client that spends the burst at t=0 gets ~N more by t=60 s, i.e. up to 2N−1 in some
 * rolling minute; fixed windows allow 2N across a boundary and the weighted sliding counter is an
 * estimate. Only a log of the last `limit` accepted times is exact: exactly `limit` in any rolling window,
 * and the `Retry-After` it computes (when the oldest counted entry expires) is the moment the next
 * request really passes. Its cost is bounded: at most MAX_LOG_LENGTH numbers per limiter.
 */
export function decide(log: readonly number[], now: number, { limit, windowMs }: RateWindow, counting: boolean): RateDecision {
  const cutoff = now - windowMs;
  let first = log.length;
  while (first > 0 && log[first - 1] > cutoff) first--;
  const inWindow = log.length - first;
  const allowed = inWindow < limit;
  if (!allowed) {
    // The request passes once enough of the oldest entries have expired to leave limit − 1 in the window.
    const freesAt = log[first + inWindow - limit] + windowMs;
    return { allowed, limit, remaining: 0, resetSeconds: wholeSeconds(freesAt - now) };
  }
  const used = inWindow + (counting ? 1 : 0);
  const oldest = inWindow > 0 ? log[first] : now;
  return { allowed, limit, remaining: limit - used, resetSeconds: wholeSeconds(oldest + windowMs - now) };
}

/** `RateLimit-*` headers for a decision (success and error responses alike). */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  return {
    "RateLimit-Limit": String(decision.limit),
    "RateLimit-Remaining": String(decision.remaining),
    "RateLimit-Reset": String(decision.resetSeconds),
  };
}

/** The seed's 429, with `Retry-After` in whole seconds after which the next request does pass. */
export function rateLimited(decision: RateDecision): ApiError {
  return new ApiError("rate_limited", "Rate limit exceeded.", {
    headers: { ...rateLimitHeaders(decision), "Retry-After": String(decision.resetSeconds) },
  });
}

/** The limiter of one subscriber: authenticates against its cached tenant state and counts its requests. */
export function tenantLimiter(env: Env, subscriberId: string) {
  return env.TENANT_RATE_LIMITER.getByName(subscriberId);
}

/**
 * Call after a change the limiter caches (plan, a password reset's session generation, an API key
 * revocation), once the D1 write has committed: the very next request of that subscriber sees it.
 */
export async function refreshTenant(env: Env, subscriberId: string): Promise<void> {
  await tenantLimiter(env, subscriberId).refresh();
}

/** Public endpoints: one limiter per (scope, client IP). Throws the 429; returns the decision for headers. */
export async function takePublicRequest(env: Env, scope: PublicScope, clientIp: string, now: number): Promise<RateDecision> {
  const decision = await env.TENANT_RATE_LIMITER.getByName(`ip:${scope}:${clientIp}`).take(now, PUBLIC_RATE_LIMITS[scope]);
  if (!decision.allowed) throw rateLimited(decision);
  return decision;
}

const loginLimiter = (env: Env, email: string) => env.TENANT_RATE_LIMITER.getByName(`login:${email.trim().toLowerCase()}`);

/**
 * Login, before checking the password: 429 with `Retry-After` once the email has had
 * LOGIN_FAILURES.limit failed logins in the window, even if this attempt has the right password.
 */
export async function assertLoginAllowed(env: Env, email: string, now: number): Promise<void> {
  const decision = await loginLimiter(env, email).peek(now, LOGIN_FAILURES);
  if (!decision.allowed) throw rateLimited(decision);
}

/** Login, after a wrong password (or unknown / unconfirmed email): counts towards the lockout. */
export async function recordLoginFailure(env: Env, email: string, now: number): Promise<void> {
  await loginLimiter(env, email).record(now);
}

/** Login, after success: the failures so far are forgotten. */
export async function clearLoginFailures(env: Env, email: string): Promise<void> {
  await loginLimiter(env, email).clear();
}
