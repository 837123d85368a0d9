import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppBindings } from "../../http/types";
import { PUBLIC_ENDPOINT_LIMITS } from "../../middleware/rate-limit";

type OpenApiDocument = ReturnType<OpenAPIHono<AppBindings>["getOpenAPI31Document"]>;
type Operation = { requestBody?: unknown; security?: Record<string, string[]>[]; responses?: Record<string, unknown> };

const errorBody = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
const rateLimitHeaders = {
  "RateLimit-Limit": { description: "Requests allowed in the window", schema: { type: "integer" } },
  "RateLimit-Remaining": { description: "Requests left in the window", schema: { type: "integer" } },
  "RateLimit-Reset": { description: "Seconds until the oldest counted request leaves the window", schema: { type: "integer" } },
};
const tooManyRequests = {
  description: "Rate limit exceeded",
  headers: {
    "Retry-After": { description: "Seconds after which the next request passes", schema: { type: "integer" } },
    ...rateLimitHeaders,
  },
  content: errorBody,
};

/**
 * Responses the app-wide middleware gives, whatever the route: the body guards (413, 415) on every
 * operation with a body, the per-IP budget (429) on the public endpoints of PUBLIC_ENDPOINT_LIMITS, and
 * token check (401, and 403 for an API key below Professional) and the plan budget (429) on every
 * Bearer operation, and the failed-credential budget (429) on the operator API. Added here, where the middleware is
 * known, so each route lists only the responses its own handler gives.
 */
function documentMiddlewareResponses(doc: OpenApiDocument): void {
  const perIpLimited = new Set<string>(Object.keys(PUBLIC_ENDPOINT_LIMITS));
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const operation of Object.values(item as Record<string, Operation>)) {
      if (typeof operation !== "object" || !operation.responses) continue;
      const add = (status: string, response: unknown) => (operation.responses![status] ??= response);
      if (operation.requestBody) {
        add("413", { description: "Body larger than 1 MiB", content: errorBody });
        add("415", { description: "Body is not application/json", content: errorBody });
      }
      const subscriberToken = operation.security?.some((scheme) => "Bearer" in scheme) ?? false;
      if (subscriberToken) {
        add("401", { description: "Missing or invalid token", content: errorBody });
        add("403", { description: "An API key used while the plan is below Professional", content: errorBody });
      }
      // A wrong operator token spends the client IP's budget of failed credentials.
      const operatorToken = operation.security?.some((scheme) => "OperatorToken" in scheme) ?? false;
      // Replaces a route's own 429 entry too: the middleware sets these headers on every 429.
      if (perIpLimited.has(path) || subscriberToken || operatorToken) operation.responses["429"] = tooManyRequests;
    }
  }
}

/**
 * The generator renders a nullable registered schema as `allOf: [$ref, {type: [object, null]}]`, which
 * null cannot satisfy, and a nullable literal as `{type: [string, null], enum: [value]}`, whose enum
 * forbids null. Both are rewritten to what the zod schema means: `anyOf: [$ref, {type: null}]`, and
 * null added to the enum.
 */
function repairNullables(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(repairNullables);
  if (typeof node !== "object" || node === null) return;
  const schema = node as Record<string, unknown>;
  const allOf = schema.allOf as Record<string, unknown>[] | undefined;
  const nullType = (s: Record<string, unknown>) => Array.isArray(s.type) && s.type.includes("null") && Object.keys(s).length === 1;
  if (allOf?.length === 2 && "$ref" in allOf[0] && nullType(allOf[1])) {
    delete schema.allOf;
    schema.anyOf = [allOf[0], { type: "null" }];
  }
  if (Array.isArray(schema.type) && schema.type.includes("null") && Array.isArray(schema.enum) && !schema.enum.includes(null)) {
    schema.enum = [...schema.enum, null];
  }
  Object.values(schema).forEach(repairNullables);
}

/** The generated document, made true to what the app answers (see the two functions above). */
export function completeDocument(doc: OpenApiDocument): OpenApiDocument {
  documentMiddlewareResponses(doc);
  repairNullables(doc);
  return doc;
}
