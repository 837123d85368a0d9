import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { subscribers, users } from "../db/schema";
import { notFound } from "../lib/errors";
import { PLAN_LIMITS } from "./plans";
import { subscriberUsage } from "./usage";

/**
 * The caller's account: the user (null fields for an API key whose creator is gone), the subscriber,
 * its plan's limits (null = unlimited) and how much of each it uses.
 */
export async function getAccount(db: Db, subscriberId: string, userId: string | null) {
  const [[subscriber], [user], usage] = await Promise.all([
    db.select().from(subscribers).where(eq(subscribers.id, subscriberId)).limit(1),
    userId
      ? db
          .select({ id: users.id, forename: users.forename, email: users.email })
          .from(users)
          .where(eq(users.id, userId))
          .limit(1)
      : Promise.resolve([]),
    subscriberUsage(db, subscriberId),
  ]);
  if (!subscriber) throw notFound("Account not found.");
  const { features: _features, ...limits } = PLAN_LIMITS[subscriber.plan];
  return {
    userId: user?.id ?? null,
    forename: user?.forename ?? null,
    email: user?.email ?? null,
    subscriberId: subscriber.id,
    organisationName: subscriber.organisationName,
    plan: subscriber.plan,
    limits,
    usage,
  };
}
