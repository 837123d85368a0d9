/**
 * The email alerts a user can turn on or off (`/api/account/notifications`), defined once: the D1
 * columns, the REST schemas, the unsubscribe tokens and the alert throttle all use these words.
 */
export const NOTIFICATION_KINDS = ["backupFailure", "anomaly", "agentOffline", "weeklyReport"] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** The alerts that follow an occurrence (throttled per job or agent); the weekly report is a digest. */
export type AlertKind = Exclude<NotificationKind, "weeklyReport">;

/** What each kind is called in an email and on the unsubscribe page. */
export const NOTIFICATION_KIND_LABELS: Record<NotificationKind, string> = {
  backupFailure: "failed backup",
  anomaly: "backup anomaly",
  agentOffline: "agent offline",
  weeklyReport: "weekly backup summary",
};
