import { z } from "@hono/zod-openapi";
import { PLANS } from "../../db/schema";
import { PaginationQuerySchema } from "../../http/pagination";

export const SubscriberIdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

export const ChangePlanBodySchema = z
  .object({ plan: z.enum(PLANS, `Plan must be one of ${PLANS.join(", ")}.`) })
  .openapi("ChangePlanRequest");

export const SubscriberPlanSchema = z
  .object({ subscriberId: z.string(), plan: z.enum(PLANS) })
  .openapi("SubscriberPlan");

export const OutboxQuerySchema = PaginationQuerySchema.extend({
  to: z.string().optional().openapi({ param: { name: "to", in: "query" }, description: "Only emails to this address (case-insensitive)" }),
});

export const OutboxEmailSchema = z
  .object({
    emailId: z.string(),
    to: z.string(),
    subject: z.string(),
    text: z.string(),
    createdAt: z.string().openapi({ example: "2026-03-26T14:30:00Z" }),
  })
  .openapi("OutboxEmail");

const sealedCount = (what: string) => z.number().int().openapi({ description: `${what} not sealed under the current key`, example: 0 });

export const EncryptionKeyStatusSchema = z
  .object({
    currentKeyId: z.string().openapi({ description: "The key id that `v2.<keyId>.…` values sealed by ENCRYPTION_KEY carry", example: "3f9a1c0b7d2e" }),
    previousKeyConfigured: z.boolean().openapi({ description: "Whether ENCRYPTION_KEY_PREVIOUS is set (the daily re-seal runs only then)" }),
    notUnderCurrentKey: z
      .object({
        webhooks: sealedCount("Webhook signing secrets"),
        credentials: sealedCount("Credentials"),
        backupJobs: sealedCount("Backup job passphrases (jobs with an agent)"),
        users: sealedCount("TOTP secrets"),
        total: sealedCount("Stored values in all"),
      })
      .openapi({ description: "Values sealed under another key or by release 1: ENCRYPTION_KEY_PREVIOUS may go once `total` is 0" }),
  })
  .openapi("EncryptionKeyStatus");
