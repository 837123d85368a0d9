import { type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "./client";

/** Rows per delete statement, and statements per call: one purge never holds D1 for long. */
export const PURGE_CHUNK = 500;
const PURGE_MAX_CHUNKS = 50;

/**
 * The one way housekeeping deletes old rows: the rows of `table` matching `where` (which should read
 * through an index), `chunk` at a time by their `key` (a unique column, or `sql\`rowid\``), at most `maxChunks` statements per call. A
 * backlog larger than one call's bound is finished by the next runs. Returns how many rows went.
 */
export async function purgeInChunks(
  db: Db,
  table: SQLiteTable,
  key: SQLiteColumn | SQL,
  where: SQL | undefined,
  { chunk = PURGE_CHUNK, maxChunks = PURGE_MAX_CHUNKS } = {},
): Promise<number> {
  const doomed = db.select({ key }).from(table).where(where).limit(chunk);
  let deleted = 0;
  for (let i = 0; i < maxChunks; i++) {
    const changes = (await db.delete(table).where(sql`${key} in ${doomed}`)).meta.changes;
    deleted += changes;
    if (changes < chunk) break;
  }
  return deleted;
}
