/** The events a webhook may subscribe to. */
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
] as const;

/**
 * Event names, defined once: stored events, webhook subscriptions and deliveries use these. `webhook.test`
 * is internal: only the test endpoint sends it.
 */
export const EVENT_TYPES = [...SUBSCRIBABLE_EVENT_TYPES, "webhook.test"] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export type SubscribableEventType = (typeof SUBSCRIBABLE_EVENT_TYPES)[number];
