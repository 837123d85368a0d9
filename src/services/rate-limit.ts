import { ApiError } from "../lib/errors";
import { dropLeases } from "./admission-lease";
import { PLAN_LIMITS } from "./plan";
import { ipv6Groups } from "./url-policy";

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
  resendConfirmation: { limit: 30, windowMs: 60_000 },
  resetPassword: { limit: 30, windowMs: 60_000 },
  agentRegister: { limit: 30, windowMs: 60_000 },
  login: { limit: 60, windowMs: 60_000 },
} as const;
export type PublicScope = keyof typeof PUBLIC_RATE_LIMITS;

/**
 * Failed credentials per client IP (its /64 for IPv6), each scope its own budget: 401s while it lasts,
 * then 429 until the window frees, so guessing keys or tokens, or making D1 look up bogus ones, is slow.
 */
export const FAILED_CREDENTIAL_LIMITS = {
  apiKey: { limit: 20, windowMs: 60_000 },
  adminToken: { limit: 10, windowMs: 60_000 },
  agentToken: { limit: 20, windowMs: 60_000 },
  sessionCookie: { limit: 20, windowMs: 60_000 },
} as const;
export type CredentialScope = keyof typeof FAILED_CREDENTIAL_LIMITS;

/** Emails that carry a link, per recipient address and flow: a public form must not become a mail cannon. */
export const EMAILS_PER_ADDRESS = { limit: 3, windowMs: 60 * 60_000 } as const;

/** Test events per webhook: a user checking a receiver needs a few, not a stream aimed at someone else's URL. */
export const WEBHOOK_TEST_EVENTS = { limit: 10, windowMs: 60_000 } as const;

/** Login attempts per email, each reserved before the password is checked and released only by a success. */
export const LOGIN_FAILURES = { limit: 10, windowMs: 15 * 60_000 } as const;

/** The longest log any limiter needs: the largest limit of all the tables above. */
export const MAX_LOG_LENGTH = Math.max(
  ...Object.values(PLAN_LIMITS).map((p) => p.requestsPerMinute),
  ...Object.values(PUBLIC_RATE_LIMITS).map((p) => p.limit),
  LOGIN_FAILURES.limit,
  WEBHOOK_TEST_EVENTS.limit,
  EMAILS_PER_ADDRESS.limit,
  ...Object.values(FAILED_CREDENTIAL_LIMITS).map((p) => p.limit),
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
 * (now − window, now]. `log` holds accepted timestamps, oldest first; an allowed request is then added to it.
 *
 * Why a log and not GCRA or a fixed/sliding counter: GCRA with burst N refills one request every
 * window/N, so a client that spends the burst at t=0 gets ~N more by t=60 s, i.e. up to 2N−1 in some
 * rolling minute; fixed windows allow 2N across a boundary and the weighted sliding counter is an
 * estimate. Only a log of the last `limit` accepted times is exact: exactly `limit` in any rolling window,
 * and the `Retry-After` it computes (when the oldest counted entry expires) is the moment the next
 * request really passes. Its cost is bounded: at most MAX_LOG_LENGTH numbers per limiter.
 */
export function decide(log: readonly number[], now: number, { limit, windowMs }: RateWindow): RateDecision {
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
  const used = inWindow + 1;
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
 * revocation), once the D1 write has committed: the very next request of that subscriber sees it, in
 * this isolate at once (its admission leases are dropped and given back), in others within LEASE_TTL_MS.
 */
export async function refreshTenant(env: Env, subscriberId: string): Promise<void> {
  await tenantLimiter(env, subscriberId).refresh(dropLeases(subscriberId));
}

/**
 * Spends one request of the budget named `key` (one limiter each, e.g. `webhook-test:<id>`): throws the
 * 429 once it is spent; returns the decision for headers.
 */
export async function takeBudget(env: Env, key: string, window: RateWindow, now: number): Promise<RateDecision> {
  const decision = await env.TENANT_RATE_LIMITER.getByName(key).take(now, window);
  if (!decision.allowed) throw rateLimited(decision);
  return decision;
}

/**
 * What a client IP is counted as: an IPv4 address itself, an IPv6 address by its /64, since one
 * subscriber line or server usually gets a whole /64 and could otherwise take a fresh address per request.
 */
export function clientIpKey(clientIp: string): string {
  if (!clientIp.includes(":")) return clientIp;
  const groups = ipv6Groups(clientIp);
  return groups ? `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64` : clientIp;
}

/** Public endpoints: one limiter per (scope, client IP). Throws the 429; returns the decision for headers. */
export function takePublicRequest(env: Env, scope: PublicScope, clientIp: string, now: number): Promise<RateDecision> {
  return takeBudget(env, `ip:${scope}:${clientIpKey(clientIp)}`, PUBLIC_RATE_LIMITS[scope], now);
}

/**
 * Per isolate: the (scope, client IP) budgets known to be spent, and until when. Such a client is answered
 * 429 without the look-up, so a spent budget costs D1 nothing and a right guess is refused too.
 */
const spentCredentialBudgets = new Map<string, number>();
const SPENT_CACHE_MAX = 10_000;

/** Before checking a credential: 429 when this client's budget of failures in `scope` is known spent. */
export function assertCredentialBudget(scope: CredentialScope, clientIp: string | undefined, now: number): void {
  if (!clientIp) return;
  const until = spentCredentialBudgets.get(`${scope}:${clientIpKey(clientIp)}`);
  if (until === undefined || until <= now) return;
  const { limit } = FAILED_CREDENTIAL_LIMITS[scope];
  throw rateLimited({ allowed: false, limit, remaining: 0, resetSeconds: Math.max(1, Math.ceil((until - now) / 1000)) });
}

/**
 * After a credential failed: counts it against the client IP's budget in `scope`; throws the 429 (and
 * remembers the spent budget in this isolate) once it is spent, so the caller's 401 only goes out before.
 * A request without `CF-Connecting-IP` did not come through Cloudflare's edge and is not counted.
 */
export async function recordCredentialFailure(env: Env, scope: CredentialScope, clientIp: string | undefined, now: number): Promise<void> {
  if (!clientIp) return;
  const key = `${scope}:${clientIpKey(clientIp)}`;
  const decision = await env.TENANT_RATE_LIMITER.getByName(`failed:${key}`).take(now, FAILED_CREDENTIAL_LIMITS[scope]);
  if (decision.allowed) return;
  if (spentCredentialBudgets.size >= SPENT_CACHE_MAX) spentCredentialBudgets.delete(spentCredentialBudgets.keys().next().value!);
  spentCredentialBudgets.set(key, now + decision.resetSeconds * 1000);
  throw rateLimited(decision);
}

/**
 * Before sending an email with a link to `email` for `flow` (forgot-password, resend-confirmation…):
 * 429 after EMAILS_PER_ADDRESS in the window. Counted for every address asked for, known or not, so the
 * answer tells nothing about which addresses have accounts.
 */
export async function takeEmailToAddress(env: Env, flow: string, email: string, now: number): Promise<void> {
  await takeBudget(env, `email:${flow}:${email.trim().toLowerCase()}`, EMAILS_PER_ADDRESS, now);
}

const loginLimiter = (env: Env, email: string) => env.TENANT_RATE_LIMITER.getByName(`login:${email.trim().toLowerCase()}`);

/**
 * Login, before checking the password: reserves one of the email's LOGIN_FAILURES.limit attempts in the
 * window, as one step in its limiter, so parallel guesses cannot all pass a check made before any of them
 * is recorded. A reserved attempt that fails stays counted; 429 with `Retry-After` once none are left,
 * even if this attempt has the right password.
 */
export async function reserveLoginAttempt(env: Env, email: string, now: number): Promise<void> {
  const decision = await loginLimiter(env, email).take(now, LOGIN_FAILURES);
  if (!decision.allowed) throw rateLimited(decision);
}

/** Login, after success: this attempt's reservation and the failures before it are forgotten. */
export async function releaseLoginAttempts(env: Env, email: string): Promise<void> {
  await loginLimiter(env, email).clear();
}
