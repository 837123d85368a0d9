import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../lib/types";
import { listDatabases as listDiscovered } from "../../services/inventory";
import type { listDatabases } from "./routes";

export const listDatabasesHandler: AppRouteHandler<typeof listDatabases> = async (c) => {
  const rows = await listDiscovered(c.var.ctx, c.req.valid("query").agentId);
  return c.json(
    rows.map((row) => ({ ...row, missingSince: isoUtc(row.missingSince) })),
    200,
  );
};
