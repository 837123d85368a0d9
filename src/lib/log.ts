/**
 * The platform's one log format: one JSON object per line, which Workers Logs indexes field by field.
 * Fields are ids, names, counts and statuses only: never a token, a secret, a request or response body,
 * a query string, an email address or a message from a customer.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

type Level = "info" | "warn" | "error";

function write(level: Level, msg: string, fields: LogFields): void {
  const line = JSON.stringify({ level, msg, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export const log = {
  info: (msg: string, fields: LogFields = {}) => write("info", msg, fields),
  warn: (msg: string, fields: LogFields = {}) => write("warn", msg, fields),
  error: (msg: string, fields: LogFields = {}) => write("error", msg, fields),
};

/**
 * An error's class and message (and its cause's) for a log field. The stack stays out, and so do the bound
 * values Drizzle's query errors quote after "params:" (addresses, hashes, sealed secrets).
 */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const message = err.message.split("\nparams:")[0];
  const cause = err.cause instanceof Error ? ` (cause: ${errorText(err.cause)})` : "";
  return `${err.name}: ${message}${cause}`;
}
