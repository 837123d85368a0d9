import { type SQL, and, eq, isNull, sql } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { type PlanName, agents, apiKeys, backupJobs, destinations, webhooks } from "../db/schema";
import { type CountedResource, PLAN_LIMITS, assertWithinPlanLimit } from "./plan";

/** A count query: awaited on its own, or used as a column of a larger select (one D1 round trip). */
type Counter = (db: Db, subscriberId: string) => ReturnType<Db["$count"]>;

/** The rows of a resource that count against the plan. Revoked API keys no longer count. */
const COUNTED: Record<CountedResource, { table: SQLiteTable; owned: (subscriberId: string) => SQL | undefined }> = {
  agents: { table: agents, owned: (id) => eq(agents.subscriberId, id) },
  backupJobs: { table: backupJobs, owned: (id) => eq(backupJobs.subscriberId, id) },
  destinations: { table: destinations, owned: (id) => eq(destinations.subscriberId, id) },
  apiKeys: { table: apiKeys, owned: (id) => and(eq(apiKeys.subscriberId, id), isNull(apiKeys.revokedAt)) },
  webhooks: { table: webhooks, owned: (id) => eq(webhooks.subscriberId, id) },
};

/** How many of each plan-limited resource a subscriber has: `GET /api/account` shows these, and creates check them. */
const COUNTERS = Object.fromEntries(
  Object.entries(COUNTED).map(([resource, { table, owned }]) => [resource, (db: Db, subscriberId: string) => db.$count(table, owned(subscriberId))]),
) as Record<CountedResource, Counter>;

/**
 * The `subscriber_id` of a limited insert: the id while the plan's limit is not reached, else NULL, so
 * the NOT NULL constraint refuses the row (and rolls back its batch). The count runs inside the write,
 * so parallel creates cannot all pass a count taken before any of them inserted.
 */
function subscriberIdWithinLimit(plan: PlanName, subscriberId: string, resource: CountedResource): SQL | string {
  const limit = PLAN_LIMITS[plan][resource];
  if (limit === null) return subscriberId;
  const { table, owned } = COUNTED[resource];
  return sql`(SELECT ${subscriberId} WHERE (SELECT count(*) FROM ${table} WHERE ${owned(subscriberId)}) < ${limit})`;
}

/**
 * Creates one plan-limited resource: 403 when the limit is already reached, else `write` inserts with
 * the `subscriber_id` it is given (see `subscriberIdWithinLimit`); when a parallel create took the last
 * slot in between, the refused write answers the same 403.
 */
export async function createWithinPlanLimit<T>(
  { db, plan, subscriberId }: { db: Db; plan: PlanName; subscriberId: string },
  resource: CountedResource,
  write: (subscriberId: SQL | string) => Promise<T>,
): Promise<T> {
  assertWithinPlanLimit(plan, resource, await countResource(db, subscriberId, resource));
  try {
    return await write(subscriberIdWithinLimit(plan, subscriberId, resource));
  } catch (error) {
    assertWithinPlanLimit(plan, resource, await countResource(db, subscriberId, resource));
    throw error;
  }
}

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
