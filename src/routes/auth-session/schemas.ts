import { z } from "@hono/zod-openapi";

export const SessionSchema = z
  .object({ expiry: z.string().openapi({ example: "2026-03-26T02:30:00Z", description: "When the session ends (UTC)" }) })
  .openapi("BrowserSession");
