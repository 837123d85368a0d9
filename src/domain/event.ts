/** Event names, defined once: stored events, webhook subscriptions and deliveries use these. */
export const EVENT_TYPES = [
  "backup.success",
  "backup.failure",
  "backup.anomaly",
  "agent.connected",
  "agent.disconnected",
  "restore.success",
  "restore.failure",
  "verify.success",
  "verify.failure",
  "webhook.test",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The events a webhook may subscribe to. `webhook.test` is internal: only the test endpoint sends it. */
export const SUBSCRIBABLE_EVENT_TYPES = [
  "backup.success",
  "backup.failure",
  "backup.anomaly",
  "agent.connected",
  "agent.disconnected",
  "restore.success",
  "restore.failure",
  "verify.success",
  "verify.failure",
] as const satisfies readonly EventType[];
export type SubscribableEventType = (typeof SUBSCRIBABLE_EVENT_TYPES)[number];
