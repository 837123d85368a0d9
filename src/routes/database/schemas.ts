import { z } from "@hono/zod-openapi";

export const DatabaseQuerySchema = z.object({
  agentId: z.string().optional().openapi({ param: { name: "agentId", in: "query" }, description: "Only this agent's databases" }),
});

export const DatabaseSchema = z
  .object({
    databaseId: z.string().openapi({ example: "f47ac10b-58cc-4372-a567-0e02b2c3d479" }),
    name: z.string().openapi({ example: "AdventureWorks" }),
    dbmsType: z.string().openapi({ example: "MicrosoftSql" }),
    engineId: z.string(),
    agentId: z.string(),
    missingSince: z.string().nullable().openapi({ description: "Set when the agent's last inventory no longer listed it." }),
  })
  .openapi("Database");
