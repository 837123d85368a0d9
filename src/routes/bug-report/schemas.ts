import { z } from "@hono/zod-openapi";
import { BUG_CATEGORIES, BUG_SEVERITIES, BUG_STATUSES } from "../../db/schema";

/** A required string field whose "missing" and "not a string" errors name the field. */
const requiredString = (label: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `${label} is required.` : `${label} must be a string.`) });

export const bugTitle = requiredString("Title")
  .trim()
  .min(3, "Title must be 3 to 200 characters.")
  .max(200, "Title must be 3 to 200 characters.");

export const bugCategory = z
  .enum(BUG_CATEGORIES, { error: `Category must be one of: ${BUG_CATEGORIES.join(", ")}.` })
  .openapi({ example: "backup" });

export const bugSeverity = z
  .enum(BUG_SEVERITIES, { error: `Severity must be one of: ${BUG_SEVERITIES.join(", ")}.` })
  .openapi({ example: "high" });

export const bugStatus = z
  .enum(BUG_STATUSES, { error: `Status must be one of: ${BUG_STATUSES.join(", ")}.` })
  .openapi({ example: "in_progress" });

export const BugReportCreateSchema = z
  .object({
    title: bugTitle.openapi({ example: "Backup fails on databases with spaces in name" }),
    description: requiredString("Description")
      .trim()
      .min(10, "Description must be 10 to 10,000 characters.")
      .max(10_000, "Description must be 10 to 10,000 characters.")
      .openapi({ example: "When a database name contains spaces, the agent throws a parsing error." }),
    category: bugCategory,
    severity: bugSeverity,
  })
  .openapi("BugReportCreate");

export const BugReportCreatedSchema = z
  .object({
    bugReportId: z.uuid(),
    message: z.literal("Bug report submitted."),
  })
  .openapi("BugReportCreated");

export const BugReportSchema = z
  .object({
    bugReportId: z.uuid(),
    title: z.string(),
    description: z.string(),
    category: bugCategory,
    severity: bugSeverity,
    status: bugStatus,
    createdAt: z.string().openapi({ example: "2026-03-26T14:30:00Z" }),
    updatedAt: z.string().openapi({ example: "2026-03-26T14:30:00Z" }),
  })
  .openapi("BugReport");

/** Exactly the seed's known issue: nothing about who reported it or what they wrote. */
export const KnownIssueSchema = z
  .object({
    id: z.number().int().openapi({ example: 42 }),
    title: z.string().openapi({ example: "Differential backups fail on SQL Server 2014" }),
    category: bugCategory,
    severity: bugSeverity,
    status: bugStatus,
    createdAt: z.string().openapi({ example: "2026-03-20T09:00:00Z" }),
  })
  .openapi("KnownIssue");
