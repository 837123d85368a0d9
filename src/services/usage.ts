import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { agents, apiKeys, backupJobs, destinations, webhooks } from "../db/schema";
import type { CountedResource } from "./plan";

/** A count query: awaited on its own, or used as a column of a larger select (one D1 round trip). */
type Counter = (db: Db, subscriberId: string) => ReturnType<Db["$count"]>;

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

/** Every counter as a column, to select in the same statement as the rest of a response. */
export function usageColumns(db: Db, subscriberId: string): { [R in CountedResource]: ReturnType<Counter> } {
  return {
    agents: COUNTERS.agents(db, subscriberId),
    backupJobs: COUNTERS.backupJobs(db, subscriberId),
    destinations: COUNTERS.destinations(db, subscriberId),
    apiKeys: COUNTERS.apiKeys(db, subscriberId),
    webhooks: COUNTERS.webhooks(db, subscriberId),
  };
}
