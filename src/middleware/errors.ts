import type { ErrorHandler, Hono, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, type ErrorCode } from "../lib/errors";
import { errorText, log } from "../lib/log";
import type { AppBindings } from "../http/types";

function errorResponse(c: Parameters<ErrorHandler<AppBindings>>[1], err: ApiError) {
  const body: Record<string, unknown> = { error: err.message, code: err.code, requestId: c.get("requestId") };
  if (err.options.details) body.details = err.options.details;
  for (const [name, value] of Object.entries(err.options.headers ?? {})) c.header(name, value);
  return c.json(body, err.status);
}

const HTTP_EXCEPTION_CODES: Record<number, ErrorCode> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
};

/** The one error handler: every failure leaves as `{error, code, requestId, details?}`, never a stack. */
export const handleError: ErrorHandler<AppBindings> = (err, c) => {
  if (err instanceof ApiError) return errorResponse(c, err);
  // Drizzle wraps what a statement rejected with, e.g. the refusal of a request read beside its admission.
  if (err.cause instanceof ApiError) return errorResponse(c, err.cause);
  if (err instanceof HTTPException && HTTP_EXCEPTION_CODES[err.status]) {
    // Hono's own validators throw these, e.g. "Malformed JSON in request body".
    const message = err.message && !err.message.startsWith("<") ? err.message : "Bad request.";
    return errorResponse(c, new ApiError(HTTP_EXCEPTION_CODES[err.status], message.endsWith(".") ? message : `${message}.`));
  }
  // Log the failure for operators, but only its class and message: never request bodies or headers.
  log.error("request.unhandled", { requestId: c.get("requestId"), error: errorText(err) });
  return errorResponse(c, new ApiError("internal_error", "Internal server error."));
};

/**
 * Unknown path: 404. Known path with another method: 405 with `Allow`. The route table is read once per
 * app, so the check costs a few regex tests on the rare miss.
 */
export function createNotFoundHandler(app: Hono<AppBindings>): NotFoundHandler<AppBindings> {
  let routes: { method: string; pattern: RegExp }[] | undefined;
  return (c) => {
    routes ??= app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => ({
        method: r.method,
        pattern: new RegExp(`^${r.path.replace(/\/:[^/]+/g, "/[^/]+").replace(/\/$/, "")}/?$`),
      }));
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(c.req.path)).map((r) => r.method))];
    if (allowed.length > 0) {
      return errorResponse(
        c,
        new ApiError("method_not_allowed", `Method ${c.req.method} is not allowed on ${c.req.path}.`, {
          headers: { Allow: allowed.join(", ") },
        }),
      );
    }
    return errorResponse(c, new ApiError("not_found", "Not found."));
  };
}
