/** The retry policy of webhook deliveries: how many attempts, and how long between them. */

export const MAX_ATTEMPTS = 8;
/** Cloudflare Queues refuses a longer `delaySeconds`; the schedule caps its steps here. */
export const MAX_QUEUE_DELAY_SECONDS = 12 * 3600;
/** The default of the Worker var `WEBHOOK_FIRST_RETRY_SECONDS`. */
const FIRST_RETRY_SECONDS = 60;
const BACKOFF_FACTOR = 5;

/**
 * Seconds to wait after `attemptsMade` failed attempts: `firstRetrySeconds` (1 min) × 5^(n−1), capped at
 * 12 h, minus up to 20 % jitter (only downwards, so the cap holds), never sooner than the receiver's
 * Retry-After. With the default, the 7 waits of 8 attempts add up to 29.6 to 37 hours.
 */
export function retryDelaySeconds(
  attemptsMade: number,
  retryAfterSeconds: number | null,
  random: () => number = Math.random,
  firstRetrySeconds = FIRST_RETRY_SECONDS,
): number {
  const backoff = Math.min(MAX_QUEUE_DELAY_SECONDS, firstRetrySeconds * BACKOFF_FACTOR ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(backoff * (0.8 + 0.2 * random()));
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(jittered, retryAfterSeconds ?? 0));
}

/** `Retry-After` as seconds from `now`: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: Date): number | null {
  if (!header) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}

/** The first wait: the Worker var `WEBHOOK_FIRST_RETRY_SECONDS` when set, else one minute. */
export function firstRetrySeconds(env: Env): number {
  const configured = Number(env.WEBHOOK_FIRST_RETRY_SECONDS);
  return Number.isFinite(configured) && configured > 0 ? configured : FIRST_RETRY_SECONDS;
}
