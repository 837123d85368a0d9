import type { RestoreStatus } from "./types";

/**
 * Restores and verification drills send no live-feed events (the LiveFeed fans out agent presence and
 * backup runs only), so a list showing an unfinished one polls: every 2 s for its first two minutes on
 * screen, then every 10 s. A restore can run for an hour, and every request counts against the plan's
 * budget (Free: 60 a minute), so polling slows down rather than spend it.
 */
const FAST_MS = 2000;
const SLOW_MS = 10_000;
const FAST_FOR_MS = 2 * 60_000;

/** When each unfinished restore or drill was first seen unfinished by this page. */
const firstSeen = new Map<string, number>();

export const isUnfinished = (status: RestoreStatus) => status === "Queued" || status === "Running";

/** A `refetchInterval`: how soon to ask again, or false once every item shown has an outcome. */
export function pollWhileUnfinished<T extends { status: RestoreStatus }>(items: T[] | undefined, idOf: (item: T) => string): number | false {
  const now = Date.now();
  let interval: number | false = false;
  for (const item of items ?? []) {
    if (!isUnfinished(item.status)) continue;
    const id = idOf(item);
    if (!firstSeen.has(id)) firstSeen.set(id, now);
    interval = now - firstSeen.get(id)! < FAST_FOR_MS ? FAST_MS : (interval || SLOW_MS);
  }
  return interval;
}

export const formatCount = (n: number | null) => (n === null ? "—" : n.toLocaleString());
