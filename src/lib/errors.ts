import { DrizzleQueryError } from "drizzle-orm/errors";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error the API can answer with, and its HTTP status. The `code` is the stable machine word. */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  /** Login: the password was right, and the account's second factor is needed (missing or wrong `otp`). */
  otp_required: 401,
  /** The agent token belonged to an agent deleted on the platform: the agent must wipe its state. */
  agent_revoked: 401,
  forbidden: 403,
  /** An account change that re-checks the password (deletion, password change) got a wrong one. */
  wrong_password: 403,
  /** An account change that needs the second factor got none, a wrong one or a used one. */
  invalid_otp: 403,
  plan_limit: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  upgrade_required: 426,
  rate_limited: 429,
  internal_error: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  path: string;
  message: string;
}

/** The one error type handlers throw; `onError` turns it into `{error, code, requestId, details?}`. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: { details?: ErrorDetail[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = ERROR_STATUS[code];
  }
}

export const notFound = (message: string) => new ApiError("not_found", message);
export const badRequest = (message: string, details?: ErrorDetail[]) =>
  new ApiError("bad_request", message, { details });
export const unauthorized = (message = "Missing or invalid token.") =>
  new ApiError("unauthorized", message, { headers: { "WWW-Authenticate": "Bearer" } });
/** The answer to a deleted agent's token, from the Worker or (racing the delete) from the agent's session. */
export const AGENT_REVOKED_MESSAGE = "This agent was deleted on the platform: wipe its state and enroll again.";
export const agentRevoked = () => new ApiError("agent_revoked", AGENT_REVOKED_MESSAGE, { headers: { "WWW-Authenticate": "Bearer" } });
export const forbidden = (message: string) => new ApiError("forbidden", message);
export const planLimit = (message: string) => new ApiError("plan_limit", message);

/**
 * A 400 `validation_failed` for zod issues, `details` listing each; `where` names the part of the request
 * ("body", "query" …). The router's zod hook and services that validate a field against stored state share it.
 */
export function validationFailed(issues: { path: PropertyKey[]; message: string }[], where: string): ApiError {
  const details: ErrorDetail[] = issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
  const first = details[0];
  const message = first ? `Invalid request ${where}: ${first.path ? `${first.path}: ` : ""}${first.message}` : `Invalid request ${where}.`;
  return new ApiError("validation_failed", message, { details });
}
