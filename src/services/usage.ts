import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { agents, apiKeys, backupJobs, destinations, webhooks } from "../db/schema";
import type { CountedResource } from "./plans";

type Counter = (db: Db, subscriberId: string) => Promise<number>;

/**
 * How many of each plan-limited resource a subscriber has: `GET /api/account` shows these, and create
 * routes pass them to `assertWithinPlanLimit`. Revoked API keys no longer count.
 */
const COUNTERS: Record<CountedResource, Counter> = {
  agents: (db, subscriberId) => db.$count(agents, eq(agents.subscriberId, subscriberId)),
  backupJobs: (db, subscriberId) => db.$count(backupJobs, eq(backupJobs.subscriberId, subscriberId)),
  destinations: (db, subscriberId) => db.$count(destinations, eq(destinations.subscriberId, subscriberId)),
  apiKeys: (db, subscriberId) => db.$count(apiKeys, and(eq(apiKeys.subscriberId, subscriberId), isNull(apiKeys.revokedAt))),
  webhooks: (db, subscriberId) => db.$count(webhooks, eq(webhooks.subscriberId, subscriberId)),
};

export function countResource(db: Db, subscriberId: string, resource: CountedResource): Promise<number> {
  return COUNTERS[resource](db, subscriberId);
}

export type Usage = Record<CountedResource, number>;

export async function subscriberUsage(db: Db, subscriberId: string): Promise<Usage> {
  const resources = Object.keys(COUNTERS) as CountedResource[];
  const counts = await Promise.all(resources.map((r) => countResource(db, subscriberId, r)));
  return Object.fromEntries(resources.map((r, i) => [r, counts[i]])) as Usage;
}
