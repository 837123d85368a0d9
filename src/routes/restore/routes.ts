import { createRoute, z } from "@hono/zod-openapi";
import { PAGINATION_HEADERS, PaginationQuerySchema } from "../../http/pagination";
import { errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import { CreateRestoreSchema, IdParams, RestoreQueuedSchema, RestoreSchema, VerificationQueuedSchema, VerificationSchema } from "./schemas";

const tags = ["Restore and verification"];

export const restoreBackupFile = createRoute({
  operationId: "restoreBackupFile",
  method: "post",
  path: "/api/backupfile/{id}/restore",
  tags,
  summary: "Restore a backup file (and the chain it builds on) into a database on an online agent",
  ...authenticated,
  request: { params: IdParams, body: jsonBody(CreateRestoreSchema) },
  responses: { 200: jsonResponse(RestoreQueuedSchema, "Restore queued on the agent"), ...errorResponses(400, 401, 404) },
});

export const listRestores = createRoute({
  operationId: "listRestores",
  method: "get",
  path: "/api/restore",
  tags,
  summary: "Restores, newest first (paginated)",
  ...authenticated,
  request: { query: PaginationQuerySchema },
  responses: {
    200: { ...jsonResponse(z.array(RestoreSchema), "Restore list returned"), headers: PAGINATION_HEADERS },
    ...errorResponses(400, 401),
  },
});

export const getRestore = createRoute({
  operationId: "getRestore",
  method: "get",
  path: "/api/restore/{id}",
  tags,
  summary: "One restore: its status, progress and the tables and rows counted after restoring",
  ...authenticated,
  request: { params: IdParams },
  responses: { 200: jsonResponse(RestoreSchema, "Restore returned"), ...errorResponses(401, 404) },
});

export const verifyBackupJob = createRoute({
  operationId: "verifyBackupJob",
  method: "post",
  path: "/api/backupjob/{id}/verify",
  tags,
  summary: "Run a verification drill: restore the job's latest backup into a scratch database, count it, drop it",
  ...authenticated,
  request: { params: IdParams },
  responses: { 200: jsonResponse(VerificationQueuedSchema, "Verification queued on the agent"), ...errorResponses(400, 401, 404) },
});

export const listVerifications = createRoute({
  operationId: "listBackupJobVerifications",
  method: "get",
  path: "/api/backupjob/{id}/verifications",
  tags,
  summary: "The job's verification drills, newest first (paginated)",
  ...authenticated,
  request: { params: IdParams, query: PaginationQuerySchema },
  responses: {
    200: { ...jsonResponse(z.array(VerificationSchema), "Verification list returned"), headers: PAGINATION_HEADERS },
    ...errorResponses(400, 401, 404),
  },
});
