import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../lib/errors";
import type { AppBindings } from "../http/types";

export const MAX_BODY_BYTES = 1024 * 1024;

/** 413 for bodies over 1 MiB, whether announced by Content-Length or streamed. */
export const limitBodySize = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError("payload_too_large", "Request body is larger than 1 MiB.");
  },
});

/** Endpoints that ignore their body: the RFC 8058 unsubscribe POST, which mail clients send as a form. */
const BODY_IGNORED = new Set(["/api/account/notifications/unsubscribe"]);

/** A request that carries a body must say it is JSON (the seed: "All requests with a body must include Content-Type: application/json"). */
export const requireJsonContentType = createMiddleware<AppBindings>(async (c, next) => {
  const hasBody =
    c.req.raw.body !== null &&
    (c.req.header("transfer-encoding") !== undefined || Number(c.req.header("content-length") ?? "0") > 0);
  if (hasBody && !BODY_IGNORED.has(c.req.path)) {
    const type = c.req.header("content-type")?.split(";")[0].trim().toLowerCase();
    if (type !== "application/json") {
      throw new ApiError("unsupported_media_type", "Content-Type must be application/json.");
    }
  }
  await next();
});
