import { setPaginationHeaders } from "../../http/pagination";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import * as files from "../../services/backup-file";
import type * as routes from "./routes";

const toSummary = (file: files.BackupFileSummary) => ({
  backupFileId: file.id,
  backupJobId: file.backupJobId,
  fileName: file.fileName,
  fileSize: file.fileSize,
  checksum: file.checksum,
  dateCreated: isoUtc(file.dateCreated),
  backupMode: file.backupMode,
  baseBackupFileId: file.baseBackupFileId,
  status: file.status,
  deletedUtc: isoUtc(file.deletedUtc),
});

export const listBackupFiles: AppRouteHandler<typeof routes.listBackupFiles> = async (c) => {
  const { page, pageSize, ...filters } = c.req.valid("query");
  const { rows, total } = await files.listFiles(c.var.ctx, filters, { page, pageSize });
  setPaginationHeaders(c, { page, pageSize }, total);
  return c.json(rows.map(toSummary), 200);
};

export const getBackupFile: AppRouteHandler<typeof routes.getBackupFile> = async (c) => {
  const file = await files.getFile(c.var.ctx, c.req.valid("param").id);
  return c.json({ ...toSummary(file), backupRunId: file.backupRunId, databaseId: file.databaseId, destinationId: file.destinationId }, 200);
};
