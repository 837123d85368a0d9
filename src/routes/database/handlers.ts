import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import * as databases from "../../services/database";
import type * as routes from "./routes";

export const listDatabases: AppRouteHandler<typeof routes.listDatabases> = async (c) => {
  const rows = await databases.listDatabases(c.var.ctx, c.req.valid("query").agentId);
  return c.json(
    rows.map((row) => ({ ...row, missingSince: isoUtc(row.missingSince) })),
    200,
  );
};
