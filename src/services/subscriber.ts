import { eq } from "drizzle-orm";
import { type PlanName, subscribers } from "../db/schema";
import { notFound } from "../lib/errors";
import { platformLogInsert } from "./log";
import { refreshTenant } from "./rate-limit";
import type { PublicContext } from "./context";

/**
 * The operator's plan change. Takes effect on the subscriber's next request, and its log records it.
 */
export async function changeSubscriberPlan(
  { db, env, now }: PublicContext,
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
    // The subscriber's limiter caches the plan (rate, whether keys work): reload it for the next request.
    await refreshTenant(env, subscriberId);
  }
  return { subscriberId, plan };
}
