import { z } from "@hono/zod-openapi";

export const CreateApiKeyBodySchema = z
  .object({ name: z.string().trim().min(1, "Name is required.").max(100).openapi({ example: "CI pipeline" }) })
  .openapi("CreateApiKeyRequest");

export const ApiKeySchema = z
  .object({
    apiKeyId: z.string().uuid(),
    name: z.string(),
    prefix: z.string().openapi({ example: "ds_live_Ab3x", description: "The first characters of the key, to tell keys apart" }),
    createdAt: z.string().openapi({ example: "2026-03-26T14:30:00Z" }),
    lastUsedAt: z.string().nullable().openapi({ example: "2026-03-26T14:30:00Z", description: "Updated at most once a minute" }),
  })
  .openapi("ApiKey");

export const CreatedApiKeySchema = ApiKeySchema.omit({ lastUsedAt: true })
  .extend({ key: z.string().openapi({ example: "ds_live_abc123...", description: "The full key: shown only in this response" }) })
  .openapi("CreatedApiKey");

export const ApiKeyIdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
