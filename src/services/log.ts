import { and, count, desc, eq, gte, inArray, lt, lte } from "drizzle-orm";
import type { Db } from "../db/client";
import { purgeInChunks } from "../db/purge";
import { type LogSeverity, PLANS, logMessages, subscribers } from "../db/schema";
import { type Pagination, pageOffset } from "../lib/pagination";
import type { ServiceContext, TenantScope } from "./context";
import { PLAN_LIMITS } from "./plan";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Rows deleted per statement by the purge, so no single statement runs long. */
const LOG_PURGE_CHUNK = 5000;
/** How far ahead of the platform's clock an agent's timestamp may be before it is taken as now. */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The insert of one platform log entry (job created, backup failed, agent went offline …), for a batch. */
export function platformLogInsert(
  { db, subscriberId, now }: TenantScope,
  entry: { severity: LogSeverity; message: string; agentId?: string | null; backupJobId?: string | null },
) {
  return db.insert(logMessages).values({
    subscriberId,
    source: "platform",
    severity: entry.severity,
    message: entry.message,
    agentId: entry.agentId ?? null,
    backupJobId: entry.backupJobId ?? null,
    timestamp: now,
  });
}

/**
 * Records an agent's `log` frame. The frame's id is the row's id, so a frame applied twice (after a crash
 * between this write and the session's record of it) is still one entry.
 */
export async function recordAgentLog(
  { db, subscriberId, now }: TenantScope,
  agentId: string,
  entry: { id: string; severity: LogSeverity; message: string; timestamp: string; backupJobId?: string | null },
) {
  const sent = new Date(entry.timestamp);
  // A clock far in the future would keep the entry past its retention.
  const timestamp = sent.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS ? now : sent;
  await db
    .insert(logMessages)
    .values({
      id: entry.id,
      subscriberId,
      agentId,
      backupJobId: entry.backupJobId ?? null,
      source: "agent",
      severity: entry.severity,
      message: entry.message,
      timestamp,
    })
    .onConflictDoNothing();
}

export interface LogFilters {
  severity?: LogSeverity;
  from?: Date;
  to?: Date;
  agentId?: string;
}

/** The two queries of a log page (its rows, and the total over all pages); both read a subscriber-first index. */
export function logPageQueries({ db, subscriberId }: Pick<ServiceContext, "db" | "subscriberId">, filters: LogFilters, page: Pagination) {
  const where = and(
    eq(logMessages.subscriberId, subscriberId),
    filters.agentId ? eq(logMessages.agentId, filters.agentId) : undefined,
    filters.severity ? eq(logMessages.severity, filters.severity) : undefined,
    filters.from ? gte(logMessages.timestamp, filters.from) : undefined,
    filters.to ? lte(logMessages.timestamp, filters.to) : undefined,
  );
  return {
    rows: db
      .select({
        logMessageId: logMessages.id,
        severity: logMessages.severity,
        message: logMessages.message,
        timestamp: logMessages.timestamp,
        agentId: logMessages.agentId,
        backupJobId: logMessages.backupJobId,
      })
      .from(logMessages)
      .where(where)
      .orderBy(desc(logMessages.timestamp), desc(logMessages.id))
      .limit(page.pageSize)
      .offset(pageOffset(page)),
    total: db.select({ total: count() }).from(logMessages).where(where),
  };
}

/** One page of the subscriber's log, newest first, and the total over all pages. */
export async function listLogs(ctx: ServiceContext, filters: LogFilters, page: Pagination) {
  const queries = logPageQueries(ctx, filters, page);
  // One batch: one call to D1 (and to one replica) instead of two.
  const [rows, [{ total }]] = await ctx.db.batch([queries.rows, queries.total]);
  return { rows, total };
}

/**
 * Deletes log entries older than their subscriber's plan retention (scheduled daily). Runs per plan in
 * bounded chunks through the timestamp index; returns how many entries went.
 */
export async function purgeExpiredLogs(db: Db, now: Date): Promise<number> {
  let deleted = 0;
  for (const plan of PLANS) {
    const cutoff = new Date(now.getTime() - PLAN_LIMITS[plan].logRetentionDays * DAY_MS);
    const ofPlan = db.select({ id: subscribers.id }).from(subscribers).where(eq(subscribers.plan, plan));
    // Logs are the busiest table: a larger bound than the default (up to 1 M rows per plan per day).
    deleted += await purgeInChunks(db, logMessages, logMessages.id, and(lt(logMessages.timestamp, cutoff), inArray(logMessages.subscriberId, ofPlan)), {
      chunk: LOG_PURGE_CHUNK,
      maxChunks: 200,
    });
  }
  return deleted;
}

