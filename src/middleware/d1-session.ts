import type { D1Client } from "../db/client";

/**
 * D1 read replication (Sessions API). Each request runs in one D1 session, so its reads see its own
 * writes and each other in order; a caller that sends back the bookmark of its last response
 * (`x-d1-bookmark`, request and response) reads at least what it wrote before, from whichever copy is
 * nearest and fresh enough. See docs/scaling.md ("Global callers and read replication").
 */
export const BOOKMARK_HEADER = "x-d1-bookmark";

/** D1 bookmarks are hex groups joined by dashes; anything else (or absurdly long) is ignored. */
const BOOKMARK = /^[0-9a-f-]{1,256}$/i;

/**
 * Where a request's first query may go:
 * - writes (any method but GET/HEAD), and every /api/auth/ call and the agent socket's token check:
 *   the primary ("first-primary"), so checks before a write (uniqueness, plan limits, a token just
 *   revoked or used) see the latest state; a bookmark is not needed there, the primary is ahead of any;
 * - other reads with the caller's bookmark: any copy at least as fresh as it (read-your-writes);
 * - other reads without one: the nearest copy ("first-unconstrained").
 * The limiter's view of plans, sessions and keys is read by its Durable Object on the database itself
 * (always the primary), so a replica's lag never lets a revoked token through.
 */
export function sessionStart(method: string, path: string, bookmark: string | undefined): D1SessionBookmark | D1SessionConstraint {
  const read = method === "GET" || method === "HEAD";
  if (!read || path.startsWith("/api/auth/") || path === "/api/agent/connect") return "first-primary";
  return bookmark && BOOKMARK.test(bookmark) ? bookmark : "first-unconstrained";
}

/** The request's session, and the bookmark to return: the session's newest, else the caller's own. */
export function openD1Session(db: D1Database, request: { method: string; path: string; bookmark: string | undefined }) {
  const session = db.withSession(sessionStart(request.method, request.path, request.bookmark));
  const given = request.bookmark && BOOKMARK.test(request.bookmark) ? request.bookmark : null;
  return { client: session as D1Client, bookmark: () => session.getBookmark() ?? given };
}
