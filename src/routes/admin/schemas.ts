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
