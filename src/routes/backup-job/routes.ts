import { createRoute, z } from "@hono/zod-openapi";
import { PAGINATION_HEADERS, PaginationQuerySchema } from "../../http/pagination";
import { MessageSchema, errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import {
  BackupJobCreatedSchema,
  BackupJobIdParams,
  BackupJobSchema,
  BackupJobSummarySchema,
  BackupRunSchema,
  BackupTriggeredSchema,
  CreateBackupJobSchema,
  RunBackupJobSchema,
  UpdateBackupJobSchema,
} from "./schemas";

const tags = ["Backup Jobs"];

export const listBackupJobs = createRoute({
  operationId: "listBackupJobs",
  method: "get",
  path: "/api/backupjob",
  tags,
  summary: "List backup jobs with schedules and latest status (paginated, newest first)",
  ...authenticated,
  request: { query: PaginationQuerySchema },
  responses: {
    200: { ...jsonResponse(z.array(BackupJobSummarySchema), "Job list returned"), headers: PAGINATION_HEADERS },
    ...errorResponses(400, 401),
  },
});

export const getBackupJob = createRoute({
  operationId: "getBackupJob",
  method: "get",
  path: "/api/backupjob/{id}",
  tags,
  summary: "A backup job with its databases, destinations, schedules, retention and encryption",
  ...authenticated,
  request: { params: BackupJobIdParams },
  responses: { 200: jsonResponse(BackupJobSchema, "Job details returned"), ...errorResponses(401, 404) },
});

export const createBackupJob = createRoute({
  operationId: "createBackupJob",
  method: "post",
  path: "/api/backupjob",
  tags,
  summary: "Create a backup job; it is synced to the agent through its command queue",
  description: "Refused with 400 when a schedule's backupMode is one an engine of the job cannot do (see the engines' capabilities on GET /api/agent/{id}), or a destination's type is one the agent cannot write.",
  ...authenticated,
  request: { body: jsonBody(CreateBackupJobSchema) },
  responses: { 200: jsonResponse(BackupJobCreatedSchema, "Job created and synced to agent"), ...errorResponses(400, 401, 403) },
});

export const updateBackupJob = createRoute({
  operationId: "updateBackupJob",
  method: "put",
  path: "/api/backupjob/{id}",
  tags,
  summary: "Update a backup job (only the fields sent change); re-synced to the agent",
  description: "Changed schedules, databases, destinations or agent are checked against what the agent can do, as on create (400).",
  ...authenticated,
  request: { params: BackupJobIdParams, body: jsonBody(UpdateBackupJobSchema) },
  responses: { 200: jsonResponse(BackupJobSchema, "Job updated"), ...errorResponses(400, 401, 404) },
});

export const deleteBackupJob = createRoute({
  operationId: "deleteBackupJob",
  method: "delete",
  path: "/api/backupjob/{id}",
  tags,
  summary: "Delete a backup job; the agent drops it, its history is kept",
  ...authenticated,
  request: { params: BackupJobIdParams },
  responses: { 200: jsonResponse(MessageSchema, "Job deleted"), ...errorResponses(401, 404) },
});

export const runBackupJob = createRoute({
  operationId: "runBackupJob",
  method: "post",
  path: "/api/backupjob/{id}/run",
  tags,
  summary: "Trigger a backup now (the agent must be online and the job enabled)",
  description: "backupMode defaults to Full; a mode an engine of the job cannot do is refused with 400 naming the engine.",
  ...authenticated,
  request: {
    params: BackupJobIdParams,
    body: { required: false, content: { "application/json": { schema: RunBackupJobSchema } } },
  },
  responses: { 200: jsonResponse(BackupTriggeredSchema, "Backup triggered on agent"), ...errorResponses(400, 401, 404) },
});

export const backupJobHistory = createRoute({
  operationId: "backupJobHistory",
  method: "get",
  path: "/api/backupjob/{id}/history",
  tags,
  summary: "The job's runs, newest first (paginated)",
  ...authenticated,
  request: { params: BackupJobIdParams, query: PaginationQuerySchema },
  responses: {
    200: { ...jsonResponse(z.array(BackupRunSchema), "Run history returned"), headers: PAGINATION_HEADERS },
    ...errorResponses(400, 401, 404),
  },
});
