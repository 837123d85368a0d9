import { NOTIFICATION_KIND_LABELS, type AlertKind, type NotificationKind } from "../domain/notification";
import type { ServiceContext } from "./context";
import { sendEmail } from "./email";
import { alertRecipients, unsubscribeUrl } from "./notification";

/** What alerts work with: no tenant or principal, as they run in queue consumers and cron tasks. */
export type AlertContext = Pick<ServiceContext, "db" | "env" | "now">;

/** What one alert email says, before the greeting and the unsubscribe footer are added per recipient. */
export interface AlertEmail {
  subject: string;
  body: string;
}

const PLURAL: Record<AlertKind, string> = { backupFailure: "failed backups", anomaly: "backup anomalies", agentOffline: "agent outages" };
const HEADLINE: Record<AlertKind, string> = { backupFailure: "Backup failed", anomaly: "Backup anomaly", agentOffline: "Agent offline" };

const THROTTLE_NOTE =
  "To keep your inbox usable, further alerts of this kind for the same job or agent within the hour are collected into one email" +
  " (at most one an hour); a successful backup resets this.";

const bulleted = (lines: string[]) => lines.map((line) => `- ${line}`).join("\n");

/** The first alert of an hour: the occurrence itself, and any earlier ones still waiting in a batch. */
export function immediateAlert(kind: AlertKind, subjectName: string, line: string, earlier: { lines: string[]; count: number }): AlertEmail {
  const parts = [line];
  if (earlier.count > 0) parts.push(`Also not yet reported (${earlier.count}):\n${bulleted(earlier.lines)}${moreThan(earlier)}`);
  parts.push(THROTTLE_NOTE);
  return { subject: `${HEADLINE[kind]}: ${subjectName}`, body: parts.join("\n\n") };
}

/** The hourly batch: every occurrence since the last email (the first lines of them, and how many). */
export function batchedAlert(kind: AlertKind, subjectName: string, pending: { lines: string[]; count: number }): AlertEmail {
  return {
    subject: `${pending.count} more ${PLURAL[kind]} in the last hour: ${subjectName}`,
    body: `Since the last email about ${subjectName}, ${pending.count} more ${PLURAL[kind]}:\n${bulleted(pending.lines)}${moreThan(pending)}\n\n${THROTTLE_NOTE}`,
  };
}

function moreThan({ lines, count }: { lines: string[]; count: number }) {
  return count > lines.length ? `\n- … and ${count - lines.length} more` : "";
}

/**
 * Sends `email` to each of the subscriber's users who want this kind, each with a one-click unsubscribe
 * link of their own (in the text, and as RFC 8058 `List-Unsubscribe` headers for the provider).
 * Returns how many emails went.
 */
export async function sendAlertEmail({ db, env, now }: AlertContext, subscriberId: string, kind: NotificationKind, email: AlertEmail): Promise<number> {
  const recipients = await alertRecipients(db, subscriberId, kind);
  for (const recipient of recipients) {
    const link = await unsubscribeUrl(env, recipient.userId, kind, now);
    const text =
      `Hello ${recipient.forename},\n\n${email.body}\n\nDataSync: ${env.PUBLIC_URL}\n\n` +
      `Unsubscribe from ${NOTIFICATION_KIND_LABELS[kind]} emails (one click): ${link}\n` +
      `Choose which emails you get: ${env.PUBLIC_URL}/account`;
    await sendEmail(env, db, {
      to: recipient.email,
      subject: email.subject,
      text,
      headers: { "List-Unsubscribe": `<${link}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
    });
  }
  return recipients.length;
}
