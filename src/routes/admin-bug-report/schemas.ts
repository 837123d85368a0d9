import { z } from "@hono/zod-openapi";
import { PaginationQuerySchema } from "../../http/pagination";
import { BugReportSchema, KnownIssueSchema, bugCategory, bugSeverity, bugStatus, bugTitle } from "../bug-report/schemas";

export const AdminBugReportQuerySchema = PaginationQuerySchema.extend({
  status: bugStatus.optional(),
  category: bugCategory.optional(),
});

export const AdminBugReportSchema = BugReportSchema.extend({
  subscriberId: z.uuid(),
  /** The reporter, or the account owner when the reporting user is gone; null if the subscriber has no user left. */
  reporterEmail: z.email().nullable(),
  knownIssue: KnownIssueSchema.nullable(),
}).openapi("AdminBugReport");

export const BugReportTriageSchema = z
  .object({
    status: bugStatus,
    knownIssue: z
      .object({ title: bugTitle.optional(), category: bugCategory.optional(), severity: bugSeverity.optional() })
      .strict()
      .optional()
      .openapi({
        description:
          "Publish the report as a known issue (or edit the one already published); missing fields come from the report.",
        example: { title: "Differential backups fail on SQL Server 2014" },
      }),
  })
  .openapi("BugReportTriage");

export const BugReportIdParamsSchema = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "a1b2c3d4-e5f6-7890-abcd-ef1234567890" }),
});
