import { type SQL, and, count, desc, eq, gte, lte } from "drizzle-orm";
import { backupFiles } from "../db/schema";
import { notFound } from "../lib/errors";
import { type Pagination, pageOffset } from "../lib/pagination";
import type { ServiceContext } from "./context";

export type BackupFileRow = typeof backupFiles.$inferSelect;

export interface BackupFileFilters {
  backupJobId?: string;
  from?: Date;
  to?: Date;
}

/** The two queries of a backup file page, served from a subscriber-first index (exported for plan tests). */
export function fileListQueries({ db, subscriberId }: Pick<ServiceContext, "db" | "subscriberId">, filters: BackupFileFilters, page: Pagination) {
  const conditions: SQL[] = [eq(backupFiles.subscriberId, subscriberId)];
  if (filters.backupJobId) conditions.push(eq(backupFiles.backupJobId, filters.backupJobId));
  if (filters.from) conditions.push(gte(backupFiles.dateCreated, filters.from));
  if (filters.to) conditions.push(lte(backupFiles.dateCreated, filters.to));
  const where = and(...conditions);
  return {
    rows: db.select().from(backupFiles).where(where).orderBy(desc(backupFiles.dateCreated), desc(backupFiles.id)).limit(page.pageSize).offset(pageOffset(page)),
    total: db.select({ total: count() }).from(backupFiles).where(where),
  };
}

/** Backup files newest first, optionally of one job and within [from, to]. */
export async function listFiles(ctx: ServiceContext, filters: BackupFileFilters, page: Pagination) {
  const queries = fileListQueries(ctx, filters, page);
  // One batch: one call to D1 (and to one replica) instead of two.
  const [rows, [{ total }]] = await ctx.db.batch([queries.rows, queries.total]);
  return { rows, total };
}

export async function getFile({ db, subscriberId }: ServiceContext, fileId: string): Promise<BackupFileRow> {
  const file = await db.query.backupFiles.findFirst({ where: and(eq(backupFiles.id, fileId), eq(backupFiles.subscriberId, subscriberId)) });
  if (!file) throw notFound("Backup file not found.");
  return file;
}
