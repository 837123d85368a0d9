import { count, desc, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { purgeInChunks } from "../db/purge";
import { outboxEmails } from "../db/schema";
import { clock } from "../lib/clock";
import { log } from "../lib/log";
import { isLocalDevelopment } from "../lib/environment";
import { type Pagination, pageOffset } from "../lib/pagination";
import type { PublicContext } from "./context";

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  /** Extra headers for the provider (alerts' `List-Unsubscribe`); the outbox keeps only to, subject and text. */
  headers?: Record<string, string>;
}

/** Emails in the outbox hold live reset and confirmation links: they go after this long. */
export const OUTBOX_RETENTION_MS = 7 * 24 * 60 * 60_000;

/** How long the provider may take before the send counts as failed (the outbox keeps the email either way). */
const PROVIDER_TIMEOUT_MS = 10_000;

/** POSTs one email to the configured provider; failures are logged by status only, never thrown. */
async function deliverToProvider(env: Env, emailId: string, message: EmailMessage): Promise<void> {
  try {
    const res = await fetch(env.EMAIL_API_URL!, {
      method: "POST",
      headers: { authorization: `Bearer ${env.EMAIL_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ from: env.EMAIL_FROM, to: message.to, subject: message.subject, text: message.text, headers: message.headers }),
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    });
    await res.body?.cancel();
    if (!res.ok) log.error("email.provider.refused", { emailId, status: res.status });
  } catch (err) {
    log.error("email.provider.unreachable", { emailId, error: (err as Error).name });
  }
}

/**
 * The one way the platform sends email. Where the operator enables it (`EMAIL_OUTBOX = "true"`, the
 * local default), every email is also kept in `outbox_emails` for 7 days (listed by
 * `GET /api/admin/outbox`), and in local development only it is printed to the console, so a developer can
 * follow its links. When the Worker has the secrets `EMAIL_API_URL` and `EMAIL_API_KEY`, the email is
 * POSTed to that provider as `{from, to, subject, text, headers?}` JSON with `Authorization: Bearer <EMAIL_API_KEY>`.
 *
 * A provider failure is logged (status only) and not thrown: the action that sent the email has already
 * happened. Pass `waitUntil` (a request's `executionCtx.waitUntil`) to deliver after the response: the
 * provider's latency then neither slows the request nor tells a caller of forgot-password whether the
 * address has an account.
 */
export async function sendEmail(
  env: Env,
  db: Db,
  message: EmailMessage,
  waitUntil?: (promise: Promise<unknown>) => void,
): Promise<{ emailId: string }> {
  const emailId = crypto.randomUUID();
  // A subject is one header line: a line break from user text (a bug report's title…) could add headers.
  message = { ...message, subject: message.subject.replace(/[\r\n\u0085\u2028\u2029]+/g, " ") };
  if (env.EMAIL_OUTBOX === "true") await db.insert(outboxEmails).values({ id: emailId, to: message.to, subject: message.subject, text: message.text, createdAt: clock.now() });
  if (isLocalDevelopment(env)) console.log(`[email ${emailId}] To: ${message.to}\nSubject: ${message.subject}\n\n${message.text}`);
  else log.info("email.stored", { emailId, outbox: env.EMAIL_OUTBOX === "true", provider: Boolean(env.EMAIL_API_URL && env.EMAIL_API_KEY) });
  if (env.EMAIL_API_URL && env.EMAIL_API_KEY) {
    const delivery = deliverToProvider(env, emailId, message);
    if (waitUntil) waitUntil(delivery);
    else await delivery;
  }
  return { emailId };
}

/** Deletes outbox emails older than OUTBOX_RETENTION_MS in bounded chunks (scheduled daily); returns how many went. */
export function purgeOutbox(db: Db, now: Date): Promise<number> {
  return purgeInChunks(db, outboxEmails, outboxEmails.id, lt(outboxEmails.createdAt, new Date(now.getTime() - OUTBOX_RETENTION_MS)));
}

/** The outbox for the operator, newest first, optionally only the emails to one address. */
export async function listOutboxEmails({ db }: PublicContext, filter: { to?: string }, pagination: Pagination) {
  const where = filter.to ? sql`lower(${outboxEmails.to}) = ${filter.to.trim().toLowerCase()}` : undefined;
  const [emails, [{ total }]] = await Promise.all([
    db
      .select({ emailId: outboxEmails.id, to: outboxEmails.to, subject: outboxEmails.subject, text: outboxEmails.text, createdAt: outboxEmails.createdAt })
      .from(outboxEmails)
      .where(where)
      .orderBy(desc(outboxEmails.createdAt), sql`rowid desc`)
      .limit(pagination.pageSize)
      .offset(pageOffset(pagination)),
    db.select({ total: count() }).from(outboxEmails).where(where),
  ]);
  return { emails, total };
}
