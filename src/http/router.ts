import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import { validationFailed } from "../lib/errors";
import type { AppBindings } from "./types";

/** The one zod hook: any request that fails its schema becomes a 400 `validation_failed` with `details`. */
export function validationHook(result: { success: boolean; error?: z.ZodError; target?: string }) {
  if (result.success || !result.error) return;
  throw validationFailed(result.error.issues, result.target === "json" ? "body" : String(result.target));
}

export function createRouter() {
  return new OpenAPIHono<AppBindings>({ strict: false, defaultHook: validationHook });
}

/**
 * A JSON request body for `createRoute`. `required: true` matters: without it @hono/zod-openapi skips
 * validation when the content type is missing and hands the handler an unvalidated `{}`.
 */
export function jsonBody<T extends ZodType>(schema: T, description = "JSON body") {
  return { required: true, description, content: { "application/json": { schema } } } as const;
}

/** A JSON response entry for `createRoute`'s `responses`. */
export function jsonResponse<T extends ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}

export const ErrorSchema = z
  .object({
    error: z.string().openapi({ example: "Backup job not found." }),
    code: z.string().openapi({ example: "not_found" }),
    requestId: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Error");

/** Error responses shared by routes, keyed by status: `...errorResponses(400, 401, 404)`. */
export function errorResponses<S extends 400 | 401 | 403 | 404 | 409 | 413 | 415 | 426 | 429>(...statuses: S[]) {
  const text: Record<number, string> = {
    400: "Bad request: invalid input",
    401: "Missing or invalid token",
    403: "Forbidden: insufficient permissions or plan limit",
    404: "Not found",
    409: "Conflict",
    413: "Body larger than 1 MiB",
    415: "Body is not application/json",
    426: "WebSocket upgrade required",
    429: "Rate limit exceeded",
  };
  return Object.fromEntries(statuses.map((s) => [s, jsonResponse(ErrorSchema, text[s])])) as {
    [K in S]: ReturnType<typeof jsonResponse<typeof ErrorSchema>>;
  };
}

export const MessageSchema = z.object({ message: z.string() }).openapi("Message");
