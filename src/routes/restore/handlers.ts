import { setPaginationHeaders } from "../../http/pagination";
import type { AppRouteHandler } from "../../http/types";
import { isoUtc } from "../../lib/time";
import * as restore from "../../services/restore";
import type * as routes from "./routes";

const toRestore = (row: restore.RestoreRow) => ({
  restoreId: row.id,
  backupFileId: row.backupFileId,
  agentId: row.agentId,
  targetDatabaseName: row.targetDatabaseName,
  status: row.status,
  bytesDone: row.bytesDone,
  tables: row.tables,
  rows: row.rows,
  startedUtc: isoUtc(row.startedUtc),
  finishedUtc: isoUtc(row.finishedUtc),
  error: row.error,
});

const toVerification = (row: restore.VerificationRow) => ({
  verificationId: row.id,
  backupFileId: row.backupFileId,
  status: row.status,
  tables: row.tables,
  rows: row.rows,
  durationMs: row.durationMs,
  startedUtc: isoUtc(row.startedUtc),
  finishedUtc: isoUtc(row.finishedUtc),
  error: row.error,
});

export const restoreBackupFile: AppRouteHandler<typeof routes.restoreBackupFile> = async (c) => {
  const restoreId = await restore.queueRestore(c.var.ctx, c.req.valid("param").id, c.req.valid("json"));
  return c.json({ restoreId, message: "Restore queued." }, 200);
};

export const listRestores: AppRouteHandler<typeof routes.listRestores> = async (c) => {
  const page = c.req.valid("query");
  const { rows, total } = await restore.listRestores(c.var.ctx, page);
  setPaginationHeaders(c, page, total);
  return c.json(rows.map(toRestore), 200);
};

export const getRestore: AppRouteHandler<typeof routes.getRestore> = async (c) => {
  return c.json(toRestore(await restore.getRestore(c.var.ctx, c.req.valid("param").id)), 200);
};

export const verifyBackupJob: AppRouteHandler<typeof routes.verifyBackupJob> = async (c) => {
  const verificationId = await restore.queueVerification(c.var.ctx, c.req.valid("param").id);
  return c.json({ verificationId, message: "Verification queued." }, 200);
};

export const listVerifications: AppRouteHandler<typeof routes.listVerifications> = async (c) => {
  const page = c.req.valid("query");
  const { rows, total } = await restore.listVerifications(c.var.ctx, c.req.valid("param").id, page);
  setPaginationHeaders(c, page, total);
  return c.json(rows.map(toVerification), 200);
};
