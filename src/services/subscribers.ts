import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { type PlanName, subscribers } from "../db/schema";
import { notFound } from "../lib/errors";
import { platformLogInsert } from "./activity";

/**
 * The operator's plan change. Takes effect on the next request (authentication reads the plan from D1),
 * and the subscriber's log records it.
 */
export async function changeSubscriberPlan(
  { db, now }: { db: Db; now: Date },
  subscriberId: string,
  plan: PlanName,
): Promise<{ subscriberId: string; plan: PlanName }> {
  const [current] = await db.select({ plan: subscribers.plan }).from(subscribers).where(eq(subscribers.id, subscriberId)).limit(1);
  if (!current) throw notFound("Subscriber not found.");
  if (current.plan !== plan) {
    await db.batch([
      db.update(subscribers).set({ plan }).where(eq(subscribers.id, subscriberId)),
      platformLogInsert({ db, subscriberId, now }, { severity: "Information", message: `Plan changed from ${current.plan} to ${plan}.` }),
    ]);
  }
  return { subscriberId, plan };
}
