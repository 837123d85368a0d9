import { z } from "@hono/zod-openapi";
import { PLANS } from "../../db/schema";

const limit = (description: string) => z.number().int().nullable().openapi({ description: `${description} (null = unlimited)` });

export const AccountSchema = z
  .object({
    userId: z.string().nullable().openapi({ description: "null for an API key whose creator no longer exists" }),
    forename: z.string().nullable(),
    email: z.string().nullable(),
    subscriberId: z.string(),
    organisationName: z.string().nullable(),
    plan: z.enum(PLANS),
    limits: z
      .object({
        requestsPerMinute: z.number().int(),
        agents: limit("Agents"),
        backupJobs: limit("Backup jobs"),
        destinations: limit("Destinations"),
        apiKeys: limit("API keys"),
        webhooks: limit("Webhooks"),
        logRetentionDays: z.number().int(),
      })
      .openapi("PlanLimits"),
    usage: z
      .object({
        agents: z.number().int(),
        backupJobs: z.number().int(),
        destinations: z.number().int(),
        apiKeys: z.number().int(),
        webhooks: z.number().int(),
      })
      .openapi("Usage"),
  })
  .openapi("Account");
