import { and, eq, gte, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { backupJobs, backupRuns } from "../db/schema";
import { type AlertContext, sendAlertEmail } from "./alert-email";

export const WEEK_MS = 7 * 24 * 60 * 60_000;

export interface JobWeek {
  backupJobId: string;
  name: string;
  runs: number;
  failures: number;
  totalSize: number;
}

/** Per job of the subscriber: runs finished in the 7 days before `until`, how many failed, bytes written. */
export async function weeklySummary(db: Db, subscriberId: string, until: Date): Promise<JobWeek[]> {
  const rows = await db
    .select({
      backupJobId: backupJobs.id,
      name: backupJobs.name,
      runs: sql<number>`count(${backupRuns.id})`,
      failures: sql<number>`coalesce(sum(${backupRuns.status} = 'Failed'), 0)`,
      totalSize: sql<number>`coalesce(sum(case when ${backupRuns.status} = 'Success' then ${backupRuns.totalSize} end), 0)`,
    })
    .from(backupJobs)
    .leftJoin(
      backupRuns,
      and(
        eq(backupRuns.subscriberId, subscriberId),
        eq(backupRuns.backupJobId, backupJobs.id),
        gte(backupRuns.createdAt, new Date(until.getTime() - WEEK_MS)),
        lt(backupRuns.createdAt, until),
      ),
    )
    .where(eq(backupJobs.subscriberId, subscriberId))
    .groupBy(backupJobs.id)
    .orderBy(backupJobs.name);
  return rows.map((r) => ({ ...r, runs: Number(r.runs), failures: Number(r.failures), totalSize: Number(r.totalSize) }));
}

/** Bytes as a person reads them (1 decimal, binary units). */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The weekly summary email to the subscriber's users who want it; nothing for a subscriber without jobs. */
export async function sendWeeklyReport(ctx: AlertContext, subscriberId: string, until: Date): Promise<number> {
  const jobs = await weeklySummary(ctx.db, subscriberId, until);
  if (jobs.length === 0) return 0;
  const total = jobs.reduce((sum, j) => ({ runs: sum.runs + j.runs, failures: sum.failures + j.failures, totalSize: sum.totalSize + j.totalSize }), {
    runs: 0,
    failures: 0,
    totalSize: 0,
  });
  const from = new Date(until.getTime() - WEEK_MS).toISOString().slice(0, 10);
  const lines = jobs.map((j) => `- ${j.name}: ${j.runs} runs, ${j.failures} failed, ${formatBytes(j.totalSize)}`);
  const body =
    `Your backups from ${from} to ${until.toISOString().slice(0, 10)}: ${total.runs} runs, ${total.failures} failed, ` +
    `${formatBytes(total.totalSize)} written.\n\nPer backup job:\n${lines.join("\n")}`;
  const subject = `Weekly backup summary: ${total.runs} runs, ${total.failures} failed`;
  return sendAlertEmail(ctx, subscriberId, "weeklyReport", { subject, body });
}
