import type { Db } from "../db/client";
import { type EventType, type LogSeverity, events, logMessages } from "../db/schema";

export interface ServiceContext {
  db: Db;
  subscriberId: string;
  now: Date;
}

/**
 * The writes that record one event, to spread into the same `db.batch([...])` as the change that caused
 * it, so an event exists exactly when its change does. Returns the new event id and the queries.
 */
export function eventInsert({ db, subscriberId, now }: ServiceContext, type: EventType, data: Record<string, unknown>) {
  const id = crypto.randomUUID();
  return { id, queries: [db.insert(events).values({ id, subscriberId, type, data, createdAt: now })] as const };
}

/** The insert of one platform log entry (job created, backup failed, agent went offline …), for a batch. */
export function platformLogInsert(
  { db, subscriberId, now }: ServiceContext,
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
