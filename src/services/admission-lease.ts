/**
 * Admission leases: the isolate's side of the subscriber's limiter (durable-objects/tenant-rate-limiter.ts).
 *
 * Asking the limiter on every request cost an authenticated request 1–1.7 ms of CPU, half its cost over
 * the health check (profiled; see README "Performance"). So the limiter may lend an isolate a few requests of
 * one principal (a session or an API key): they are counted in the subscriber's log when lent, so the
 * plan's limit is never exceeded, and the isolate admits that principal's next requests from the lease
 * without a round trip for at most LEASE_TTL_MS. What a lease does not use goes back to the limiter with
 * the principal's next request or its subscriber's next `refreshTenant`; else it counts until it leaves
 * the minute's window.
 *
 * - How much is lent: what the principal asked for in this isolate over the last LEASE_TTL_MS, at most a
 *   twentieth of the plan's minute, and only out of a budget twice as large (the limiter decides).
 * - While a lease is being asked for, as many of the principal's next requests as it asks for wait for it
 *   (and then take from it, or ask for themselves if it fell short); the rest ask for themselves at once.
 *   So no lent request is left unused by a request that was refused meanwhile, and a burst near the
 *   limit admits exactly as many requests as the budget has. (Each request makes its own limiter call: a
 *   Worker may not hand one request's I/O to another; the waiting ones only wait for the lease to land.)
 * - A request that names an agent (the command path) always asks the limiter: its answer says whether
 *   the agent is the subscriber's.
 * - A revocation (logout, password change or reset, key deletion, plan change) calls `refreshTenant`,
 *   which drops the subscriber's leases in that isolate at once; other isolates stop admitting from a
 *   lease they already hold within LEASE_TTL_MS.
 * - `RateLimit-Remaining` and `-Reset` of a leased request are the limiter's as of the lease, counted down
 *   one by one: exact within one isolate, and at most LEASE_TTL_MS old in front of other isolates' traffic.
 */
import type { AdmitRequest, AdmitResult, LeaseReturn, PresentedToken } from "../durable-objects/tenant-rate-limiter";

/** How long a lease admits requests: also how long a revocation made in another isolate may take here. */
export const LEASE_TTL_MS = 2_000;

interface Lease {
  at: number;
  left: number;
  expiresAt: number;
  verdict: Extract<AdmitResult, { granted: number }>;
  resetAtMs: number;
}

/** A lease being asked for: `covers` requests may wait for it, `claims` of them do. */
interface Lending {
  landed: Promise<void>;
  covers: number;
  claims: number;
}

/** One principal's state in this isolate. */
interface Book {
  lease: Lease | null;
  lending: Lending | null;
  /** Unused lent requests not yet given back. */
  returns: LeaseReturn[];
  /** Requests seen in the current and the previous LEASE_TTL_MS: what the next lease is sized by. */
  windowStart: number;
  current: number;
  previous: number;
}

type Limiter = { admit(request: AdmitRequest): Promise<AdmitResult> };

/**
 * subscriberId → principal → book; bounded like the other per-isolate maps (every login is a new
 * session). A book dropped for room takes its unused lent requests along: they count until they leave
 * the window, never less than they should.
 */
const books = new Map<string, Map<string, Book>>();
const BOOKS_MAX = 10_000;
const PRINCIPALS_MAX = 100;

const principalKey = (p: PresentedToken) => (p.kind === "session" ? `session:${p.sessionId}` : `apikey:${p.apiKeyId}`);

function bookOf(subscriberId: string, principal: PresentedToken, now: number): Book {
  let principals = books.get(subscriberId);
  if (!principals) {
    if (books.size >= BOOKS_MAX) books.delete(books.keys().next().value!);
    principals = new Map();
    books.set(subscriberId, principals);
  }
  const key = principalKey(principal);
  let book = principals.get(key);
  if (!book) {
    if (principals.size >= PRINCIPALS_MAX) principals.delete(principals.keys().next().value!);
    book = { lease: null, lending: null, returns: [], windowStart: now, current: 0, previous: 0 };
    principals.set(key, book);
  }
  return book;
}

function countDemand(book: Book, now: number): void {
  const elapsed = now - book.windowStart;
  if (elapsed >= LEASE_TTL_MS) {
    book.previous = elapsed >= 2 * LEASE_TTL_MS ? 0 : book.current;
    book.current = 0;
    book.windowStart = now;
  }
  book.current++;
}

/** Ends the book's lease; what it did not use goes back with the next call to the limiter. */
function endLease(book: Book): void {
  if (book.lease && book.lease.left > 0) book.returns.push({ at: book.lease.at, count: book.lease.left });
  book.lease = null;
}

/** One request admitted from the lease, or null (none left, or expired). */
function takeFromLease(book: Book, now: number): AdmitResult | null {
  const lease = book.lease;
  if (!lease || lease.left === 0 || now >= lease.expiresAt) {
    endLease(book);
    return null;
  }
  const { verdict } = lease;
  const served = verdict.granted - lease.left;
  lease.left--;
  const resetSeconds = Math.max(1, Math.ceil((lease.resetAtMs - now) / 1000));
  // The limiter's once-a-minute `lastUsedAt` write rides on the request it answered, not on lent ones.
  return { ...verdict, touchKey: false, decision: { ...verdict.decision, remaining: verdict.decision.remaining - served, resetSeconds } };
}

/**
 * The limiter's verdict for one request of `request.principal`: from this isolate's lease when it has
 * one (or one is on its way), else from the limiter, which may lend the next few with it.
 */
export async function admitLeased(limiter: Limiter, request: AdmitRequest): Promise<AdmitResult> {
  const { now } = request;
  const book = bookOf(request.subscriberId, request.principal, now);
  countDemand(book, now);
  // A request naming an agent needs the limiter's answer on whether the agent is the subscriber's.
  if (request.agentId !== undefined) return ask(limiter, book, request, 0);
  const leased = takeFromLease(book, now);
  if (leased) return leased;
  const { lending } = book;
  if (lending && lending.claims < lending.covers) {
    lending.claims++;
    if (!(await landedInTime(lending))) {
      if (book.lending === lending) book.lending = null;
      return ask(limiter, book, request, 0);
    }
    return takeFromLease(book, now) ?? ask(limiter, book, request, 0);
  }
  return ask(limiter, book, request, lending ? 0 : book.previous + book.current - 1);
}

/**
 * The request that asks for a lease resolves its `landed`; one canceled meanwhile (its client went away)
 * never does, so a waiting request gives up after this long and asks for itself.
 */
const LENDING_WAIT_MS = 2_000;

async function landedInTime(lending: Lending): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), LENDING_WAIT_MS)));
  try {
    return await Promise.race([lending.landed.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function ask(limiter: Limiter, book: Book, request: AdmitRequest, spare: number): Promise<AdmitResult> {
  let landed = () => {};
  const lending: Lending | null = spare > 0 ? { landed: new Promise((resolve) => (landed = resolve)), covers: spare, claims: 0 } : null;
  if (lending) book.lending = lending;
  let verdict: AdmitResult;
  try {
    verdict = await limiter.admit({ ...request, spare, returned: book.returns.splice(0) });
    if (verdict.status === "admitted" && verdict.granted > 1) {
      endLease(book);
      const { now } = request;
      const resetAtMs = now + verdict.decision.resetSeconds * 1000;
      book.lease = { at: verdict.at, left: verdict.granted - 1, expiresAt: now + LEASE_TTL_MS, verdict, resetAtMs };
    }
  } finally {
    // The lease (if any) is in place before the requests waiting for it resume.
    if (lending && book.lending === lending) book.lending = null;
    landed();
  }
  if (verdict.status === "rate_limited") return takeFromLease(book, request.now) ?? verdict;
  if (verdict.status !== "admitted") endLease(book); // the session or key is no longer valid
  return verdict;
}

/**
 * Drops this isolate's leases of a subscriber (its next requests ask the limiter again) and returns what
 * they did not use, for the limiter to take back.
 */
export function dropLeases(subscriberId: string): LeaseReturn[] {
  const principals = books.get(subscriberId);
  books.delete(subscriberId);
  const returned: LeaseReturn[] = [];
  for (const book of principals?.values() ?? []) {
    endLease(book);
    returned.push(...book.returns.splice(0));
  }
  return returned;
}
