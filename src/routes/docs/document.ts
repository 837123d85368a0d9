import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppBindings } from "../../http/types";
import { BOOKMARK_HEADER, sessionStart } from "../../middleware/d1-session";
import { PUBLIC_ENDPOINT_LIMITS } from "../../middleware/rate-limit";

type OpenApiDocument = ReturnType<OpenAPIHono<AppBindings>["getOpenAPI31Document"]>;
type Operation = {
  requestBody?: unknown;
  security?: Record<string, string[]>[];
  parameters?: unknown[];
  responses?: Record<string, { headers?: Record<string, unknown> }>;
};

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
      const add = (status: string, response: object) => (operation.responses![status] ??= response);
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

const BOOKMARK_DESCRIPTION =
  "D1 read replication: the bookmark of the newest database state this request saw. Send it back as the request header " +
  "of your next read and that read sees at least what this request saw or wrote (docs/scaling.md).";

/**
 * The `x-d1-bookmark` header of middleware/d1-session.ts, once as reusable components: the request
 * parameter on every read that continues from a bookmark (sessionStart: not the sign-in flows, which
 * start on the primary), and the response header on every successful authenticated read.
 */
function documentBookmark(doc: OpenApiDocument): void {
  const components = (doc.components ??= {}) as Record<string, Record<string, unknown>>;
  (components.headers ??= {}).D1Bookmark = { description: BOOKMARK_DESCRIPTION, schema: { type: "string", pattern: "^[0-9a-fA-F-]{1,256}$" } };
  (components.parameters ??= {}).D1Bookmark = {
    name: BOOKMARK_HEADER,
    in: "header",
    required: false,
    description: "The `x-d1-bookmark` of an earlier response: this read sees at least what that one saw or wrote. A malformed one is ignored.",
    schema: { type: "string" },
  };
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const operation = (item as Record<string, Operation>).get;
    if (typeof operation !== "object" || sessionStart("GET", path, "0") === "first-primary") continue;
    (operation.parameters ??= []).push({ $ref: "#/components/parameters/D1Bookmark" });
    if (!operation.security?.some((scheme) => "Bearer" in scheme)) continue;
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      if (status.startsWith("2")) (response.headers ??= {})[BOOKMARK_HEADER] = { $ref: "#/components/headers/D1Bookmark" };
    }
  }
}

/** The generated document, made true to what the app answers (see the functions above). */
export function completeDocument(doc: OpenApiDocument): OpenApiDocument {
  documentMiddlewareResponses(doc);
  documentBookmark(doc);
  repairNullables(doc);
  return doc;
}
