import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { SubscribableEventType } from "../../domain/event";
import { EVENT_TYPES, events } from "./activity";
import { id, timestamp } from "./columns";
import { subscriberIdColumn } from "./identity";

export { SUBSCRIBABLE_EVENT_TYPES, type SubscribableEventType } from "../../domain/event";

export const webhooks = sqliteTable(
  "webhooks",
  {
    id: id(),
    subscriberId: subscriberIdColumn(),
    url: text("url").notNull(),
    /** JSON array of subscribed event types; the event fan-out matches it with `json_each`. */
    events: text("events", { mode: "json" }).notNull().$type<SubscribableEventType[]>(),
    /** The `whsec_…` signing secret, sealed with AES-256-GCM (the platform must read it back to sign). */
    sealedSecret: text("sealed_secret").notNull(),
    isEnabled: integer("is_enabled", { mode: "boolean" }).notNull(),
    /** Start of the current run of failed attempts (null after a success): 5 days of it disables the webhook. */
    failingSince: timestamp("failing_since"),
    createdAt: timestamp("created_at").notNull(),
    updatedAt: timestamp("updated_at").notNull(),
  },
  (t) => [index("webhooks_subscriber_created_idx").on(t.subscriberId, t.createdAt)],
);

export const DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * One event for one webhook. Written in the same batch as the event, so D1 (not the queue) is the record
 * of what must be delivered; queue messages only carry the id.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: id(),
    subscriberId: text("subscriber_id").notNull(),
    webhookId: text("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    eventId: text("event_id")
      .notNull()
      .references(() => events.id, { onDelete: "cascade" }),
    eventType: text("event_type", { enum: EVENT_TYPES }).notNull(),
    status: text("status", { enum: DELIVERY_STATUSES }).notNull(),
    /** Attempts made so far: the source of truth for the retry schedule (not the queue's own counter). */
    attempts: integer("attempts").notNull(),
    /** When the next attempt may start; while an attempt runs it is pushed forward as a short lease. Null once final. */
    nextAttemptAt: timestamp("next_attempt_at"),
    /** When a queue message for it was last sent; null means the publish after the event's batch never happened. */
    enqueuedAt: timestamp("enqueued_at"),
    /**
     * The queue message that made the last attempt and carries the retry. Only that message is kept
     * (retried until due) when it arrives early; any other copy arriving early is a duplicate and dropped.
     */
    queueMessageId: text("queue_message_id"),
    lastAttemptAt: timestamp("last_attempt_at"),
    responseStatus: integer("response_status"),
    lastError: text("last_error"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [
    index("webhook_deliveries_subscriber_webhook_created_idx").on(t.subscriberId, t.webhookId, t.createdAt, t.id),
    index("webhook_deliveries_event_idx").on(t.eventId),
    // The sweep reads pending rows by due time.
    index("webhook_deliveries_status_due_idx").on(t.status, t.nextAttemptAt),
    // Housekeeping deletes final (delivered or failed) deliveries by age.
    index("webhook_deliveries_status_created_idx").on(t.status, t.createdAt),
  ],
);
