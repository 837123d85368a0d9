import { and, eq, sql } from "drizzle-orm";
import { subscribers, users } from "../db/schema";
import { notFound } from "../lib/errors";
import { type ServiceContext, actingUserId } from "./context";
import { PLAN_LIMITS } from "./plan";
import { usageColumns } from "./usage";

/**
 * The caller's account: the user (null fields for an API key whose creator is gone), the subscriber,
 * its plan's limits (null = unlimited) and how much of each it uses.
 */
export async function getAccount({ db, subscriberId, principal }: ServiceContext) {
  const userId = actingUserId(principal);
  // One statement, so one D1 round trip: the subscriber, the calling user (if any) and every count.
  const [row] = await db
    .select({
      subscriberId: subscribers.id,
      organisationName: subscribers.organisationName,
      plan: subscribers.plan,
      userId: users.id,
      forename: users.forename,
      email: users.email,
      usage: usageColumns(db, subscriberId),
    })
    .from(subscribers)
    .leftJoin(users, and(eq(users.subscriberId, subscribers.id), userId ? eq(users.id, userId) : sql`0`))
    .where(eq(subscribers.id, subscriberId))
    .limit(1);
  if (!row) throw notFound("Account not found.");
  const { features: _features, ...limits } = PLAN_LIMITS[row.plan];
  return {
    userId: row.userId,
    forename: row.forename,
    email: row.email,
    subscriberId: row.subscriberId,
    organisationName: row.organisationName,
    plan: row.plan,
    limits,
    usage: row.usage,
  };
}
