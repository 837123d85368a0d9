import { setPaginationHeaders } from "../../lib/pagination";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../lib/types";
import { listLogs as listLogPage } from "../../services/logs";
import type { listLogs } from "./routes";

export const listLogsHandler: AppRouteHandler<typeof listLogs> = async (c) => {
  const { page, pageSize, ...filters } = c.req.valid("query");
  const { rows, total } = await listLogPage(c.var.ctx, filters, { page, pageSize });
  setPaginationHeaders(c, { page, pageSize }, total);
  return c.json(
    rows.map((row) => ({ ...row, timestamp: isoUtc(row.timestamp) })),
    200,
  );
};
