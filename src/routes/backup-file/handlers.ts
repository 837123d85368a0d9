import { setPaginationHeaders } from "../../http/pagination";
import type { AppRouteHandler } from "../../http/types";
import * as files from "../../services/backup-file";
import type * as routes from "./routes";

export const listBackupFiles: AppRouteHandler<typeof routes.listBackupFiles> = async (c) => {
  const { page, pageSize, ...filters } = c.req.valid("query");
  const { rows, total } = await files.listFiles(c.var.ctx, filters, { page, pageSize });
  setPaginationHeaders(c, { page, pageSize }, total);
  // The query already shaped each row as the API shows it (services/backup-file.ts).
  return c.json(rows, 200);
};

export const getBackupFile: AppRouteHandler<typeof routes.getBackupFile> = async (c) => {
  return c.json(await files.getFileSummary(c.var.ctx, c.req.valid("param").id), 200);
};
