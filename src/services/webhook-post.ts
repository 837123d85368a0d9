import { isoUtc } from "../lib/time";
import { signWebhook } from "./webhook-signature";
import { parseRetryAfter } from "./webhook-retry";

const ATTEMPT_TIMEOUT_MS = 15_000;

export type FetchFunction = (url: string, init: RequestInit) => Promise<Response>;

export interface AttemptResult {
  ok: boolean;
  responseStatus: number | null;
  error: string | null;
  retryAfterSeconds: number | null;
}

/** One POST of a signed event; never throws (a network error or timeout is a failed attempt). */
export async function postEvent(
  fetchFn: FetchFunction,
  url: string,
  secret: string,
  event: { id: string; type: string; data: Record<string, unknown>; createdAt: Date },
  now: Date,
): Promise<AttemptResult> {
  const body = JSON.stringify({ type: event.type, timestamp: isoUtc(event.createdAt), data: event.data });
  const timestamp = Math.floor(now.getTime() / 1000);
  const headers = {
    "content-type": "application/json",
    "user-agent": "DataSync-Webhooks/1.0",
    "webhook-id": event.id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signWebhook(secret, event.id, timestamp, body),
  };
  try {
    const res = await fetchFn(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) });
    await res.body?.cancel();
    const ok = res.status >= 200 && res.status < 300;
    const error = ok
      ? null
      : res.status >= 300 && res.status < 400
        ? `Receiver answered a redirect (${res.status}); redirects are not followed.`
        : `Receiver answered ${res.status}.`;
    return { ok, responseStatus: res.status, error, retryAfterSeconds: parseRetryAfter(res.headers.get("retry-after"), now) };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    const error = timedOut ? "No answer within 15 seconds." : `Request failed: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, responseStatus: null, error, retryAfterSeconds: null };
  }
}
