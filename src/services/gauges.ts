import { count, eq } from "drizzle-orm";
import { createDb } from "../db/client";
import { agents } from "../db/schema";
import { recordMetric } from "../lib/metrics";

/** Cron task: the number of agents with an open socket right now, over all subscribers, as a metric. */
export async function sampleAgentsOnline(env: Env): Promise<number> {
  const [{ online }] = await createDb(env.DB).select({ online: count() }).from(agents).where(eq(agents.isOnline, true));
  recordMetric(env, { event: "agents_online", count: online });
  return online;
}
