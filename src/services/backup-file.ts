import { type SQL, type SQLWrapper, and, count, desc, eq, gte, inArray, lte, sql } from "drizzle-orm";
import type { SelectResultFields } from "drizzle-orm/query-builders/select.types";
import { isoUtcSql } from "../db/schema/columns";
import type { BatchItem } from "drizzle-orm/batch";
import { type BackupFileStatus, backupFiles } from "../db/schema";
import { notFound } from "../lib/errors";
import { type Pagination, pageOffset } from "../lib/pagination";
import type { ServiceContext, TenantScope } from "./context";
import { platformLogInsert } from "./log";

export type BackupFileRow = typeof backupFiles.$inferSelect;

/** Each field under its own name in SQL (`… AS "backupFileId"`), so D1's row objects are already the API's. */
function named<T extends Record<string, SQLWrapper>>(fields: T): T {
  // Same values, only named: Drizzle's result types of `fields` still hold.
  return Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, sql`${field}`.as(name)])) as unknown as T;
}

/**
 * A file as the API shows it, shaped by the query itself: the response's field names, and the two
 * instants formatted by SQLite. A list page is 50 of these, and profiled (bench/backup-file-list.workers.ts)
 * Drizzle's row mapping was most of the Worker's JavaScript per page: the list hands D1's row objects
 * over as they come, with no Date objects and no second mapping. Only the columns shown are read: the
 * ids and counts a list leaves out were about 40 % of what D1 read out and handed over per row.
 */
const summaryColumns = named({
  backupFileId: backupFiles.id,
  backupJobId: backupFiles.backupJobId,
  fileName: backupFiles.fileName,
  fileSize: backupFiles.fileSize,
  checksum: backupFiles.checksum,
  dateCreated: isoUtcSql(backupFiles.dateCreated) as SQL<string>, // the column is NOT NULL
  backupMode: backupFiles.backupMode,
  baseBackupFileId: backupFiles.baseBackupFileId,
  status: backupFiles.status,
  deletedUtc: isoUtcSql(backupFiles.deletedUtc),
});
export type BackupFileSummary = SelectResultFields<typeof summaryColumns>;

export interface BackupFileFilters {
  /** `all` lists every file; the default is Available files only. */
  status?: BackupFileStatus | "all";
  backupJobId?: string;
  from?: Date;
  to?: Date;
}

/** The two queries of a backup file page, served from a subscriber-first index (exported for plan tests). */
export function fileListQueries({ db, subscriberId }: Pick<ServiceContext, "db" | "subscriberId">, filters: BackupFileFilters, page: Pagination) {
  const conditions: SQL[] = [eq(backupFiles.subscriberId, subscriberId)];
  if (filters.backupJobId) conditions.push(eq(backupFiles.backupJobId, filters.backupJobId));
  const status = filters.status ?? "Available";
  if (status !== "all") conditions.push(eq(backupFiles.status, status));
  if (filters.from) conditions.push(gte(backupFiles.dateCreated, filters.from));
  if (filters.to) conditions.push(lte(backupFiles.dateCreated, filters.to));
  const where = and(...conditions);
  return {
    rows: db.select(summaryColumns).from(backupFiles).where(where).orderBy(desc(backupFiles.dateCreated), desc(backupFiles.id)).limit(page.pageSize).offset(pageOffset(page)),
    total: db.select(named({ total: count() })).from(backupFiles).where(where),
  };
}

/** Backup files newest first, Available ones unless another status is asked, optionally of one job and within [from, to]. */
export async function listFiles(ctx: ServiceContext, filters: BackupFileFilters, page: Pagination) {
  const queries = fileListQueries(ctx, filters, page);
  // Drizzle builds the statements; they run on its own client (the request's gated D1 session), whose
  // row objects need no mapping (see summaryColumns). One batch: one call to D1 (and to one replica).
  const client = ctx.db.$client;
  const statement = (query: SQLWrapper & { toSQL(): { sql: string; params: unknown[] } }) => {
    const { sql: text, params } = query.toSQL();
    return client.prepare(text).bind(...params);
  };
  const [rows, totals] = await client.batch([statement(queries.rows), statement(queries.total)]);
  return { rows: rows.results as BackupFileSummary[], total: (totals.results[0] as { total: number }).total };
}

/** One file as the API shows it, with the run, database and destination it came from. */
export async function getFileSummary({ db, subscriberId }: ServiceContext, fileId: string) {
  const [file] = await db
    .select({ ...summaryColumns, backupRunId: backupFiles.backupRunId, databaseId: backupFiles.databaseId, destinationId: backupFiles.destinationId })
    .from(backupFiles)
    .where(and(eq(backupFiles.id, fileId), eq(backupFiles.subscriberId, subscriberId)));
  if (!file) throw notFound("Backup file not found.");
  return file;
}

export async function getFile({ db, subscriberId }: ServiceContext, fileId: string): Promise<BackupFileRow> {
  const file = await db.query.backupFiles.findFirst({ where: and(eq(backupFiles.id, fileId), eq(backupFiles.subscriberId, subscriberId)) });
  if (!file) throw notFound("Backup file not found.");
  return file;
}

/** File names per UPDATE, next to the other bound values (subscriber, destination, statuses, deletedUtc). */
const NAMES_PER_UPDATE = 90;

/**
 * An agent's `files.deleted`: the files it removed from their destinations (by retention) are marked
 * Deleted, with a log entry. Only Available files of the agent's subscriber change, so a repeat (or a
 * file the platform never recorded) changes nothing and `deletedUtc` keeps the first report's time.
 */
export async function markFilesDeleted(ctx: TenantScope, agentId: string, files: { destinationId: string; fileName: string }[]): Promise<void> {
  const { db, subscriberId, now } = ctx;
  const queries: BatchItem<"sqlite">[] = [];
  for (const destinationId of new Set(files.map((f) => f.destinationId))) {
    const names = [...new Set(files.filter((f) => f.destinationId === destinationId).map((f) => f.fileName))];
    for (let i = 0; i < names.length; i += NAMES_PER_UPDATE) {
      queries.push(
        db
          .update(backupFiles)
          .set({ status: "Deleted", deletedUtc: now })
          .where(
            and(
              eq(backupFiles.subscriberId, subscriberId),
              eq(backupFiles.destinationId, destinationId),
              inArray(backupFiles.fileName, names.slice(i, i + NAMES_PER_UPDATE)),
              eq(backupFiles.status, "Available"),
            ),
          ),
      );
    }
  }
  const shown = files.slice(0, 5).map((f) => f.fileName).join(", ");
  const more = files.length > 5 ? ` and ${files.length - 5} more` : "";
  await db.batch([
    platformLogInsert(ctx, { severity: "Information", message: `The agent removed ${files.length} backup file(s) by retention: ${shown}${more}.`, agentId }),
    ...queries,
  ]);
}
