import { z } from "@hono/zod-openapi";
import { LOG_SEVERITIES } from "../../db/schema";
import { PaginationQuerySchema } from "../../http/pagination";

const dateTime = (name: string) =>
  z.iso
    .datetime({ offset: true, error: `${name} must be an ISO 8601 date-time such as 2026-03-26T00:00:00Z.` })
    .transform((value) => new Date(value))
    .optional()
    .openapi({ param: { name, in: "query" }, example: "2026-03-26T00:00:00Z" });

export const LogQuerySchema = PaginationQuerySchema.extend({
  severity: z
    .enum(LOG_SEVERITIES, { error: `severity must be one of: ${LOG_SEVERITIES.join(", ")}.` })
    .optional()
    .openapi({ param: { name: "severity", in: "query" } }),
  from: dateTime("from"),
  to: dateTime("to"),
  agentId: z.string().optional().openapi({ param: { name: "agentId", in: "query" } }),
});

export const LogMessageSchema = z
  .object({
    logMessageId: z.string(),
    severity: z.enum(LOG_SEVERITIES).openapi({ example: "Error" }),
    message: z.string().openapi({ example: "Backup failed: disk space insufficient" }),
    timestamp: z.string().openapi({ example: "2026-03-26T02:15:00Z" }),
    agentId: z.string().nullable(),
    backupJobId: z.string().nullable(),
  })
  .openapi("LogMessage");
