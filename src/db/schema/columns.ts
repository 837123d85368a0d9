import { sql } from "drizzle-orm";
import { type SQLiteColumn, integer, text } from "drizzle-orm/sqlite-core";

/** UUID primary key generated in the Worker. */
export const id = (name = "id") =>
  text(name)
    .primaryKey()
    .$defaultFn(() => crypto.randomUUID());

/** A point in time, stored as epoch milliseconds so it sorts and compares in SQL. */
export const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" });

/**
 * A `timestamp` column as the API prints it (`2026-03-26T14:30:00Z`, see isoUtc in lib/time.ts), worked
 * out by SQLite: a list of many rows then builds no Date per value in the Worker. NULL stays NULL.
 */
export const isoUtcSql = (column: SQLiteColumn) => sql<string | null>`strftime('%Y-%m-%dT%H:%M:%SZ', ${column} / 1000, 'unixepoch')`;
