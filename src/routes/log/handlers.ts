import { setPaginationHeaders } from "../../http/pagination";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import * as logs from "../../services/log";
import type * as routes from "./routes";

export const listLogs: AppRouteHandler<typeof routes.listLogs> = async (c) => {
  const { page, pageSize, ...filters } = c.req.valid("query");
  const { rows, total } = await logs.listLogs(c.var.ctx, filters, { page, pageSize });
  setPaginationHeaders(c, { page, pageSize }, total);
  return c.json(
    rows.map((row) => ({ ...row, timestamp: isoUtc(row.timestamp) })),
    200,
  );
};
