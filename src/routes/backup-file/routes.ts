import { createRoute, z } from "@hono/zod-openapi";
import { PAGINATION_HEADERS } from "../../http/pagination";
import { errorResponses, jsonResponse } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import { BackupFileIdParams, BackupFileQuerySchema, BackupFileSchema, BackupFileSummarySchema } from "./schemas";

const tags = ["Backup Files"];

export const listBackupFiles = createRoute({
  operationId: "listBackupFiles",
  method: "get",
  path: "/api/backupfile",
  tags,
  summary: "Backup files recorded for your subscriber, newest first: Available ones unless status=Deleted or status=all (paginated; filters status, backupJobId, from, to)",
  ...authenticated,
  request: { query: BackupFileQuerySchema },
  responses: {
    200: { ...jsonResponse(z.array(BackupFileSummarySchema), "File list returned"), headers: PAGINATION_HEADERS },
    ...errorResponses(400, 401),
  },
});

export const getBackupFile = createRoute({
  operationId: "getBackupFile",
  method: "get",
  path: "/api/backupfile/{id}",
  tags,
  summary: "One backup file, with the run, database and destination it came from",
  ...authenticated,
  request: { params: BackupFileIdParams },
  responses: { 200: jsonResponse(BackupFileSchema, "File returned"), ...errorResponses(401, 404) },
});
