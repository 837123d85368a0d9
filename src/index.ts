import { app } from "./app";
import { consumeDeadLetters, consumeWebhookDeliveries } from "./services/webhook-consumers";
import { WEBHOOK_DEAD_LETTER_QUEUE_NAME } from "./services/webhook-queue";
import { scheduled } from "./scheduled";
import { ALERT_QUEUE_NAME, consumeAlerts } from "./services/alert-queue";

export { AgentSession } from "./durable-objects/agent-session";
export { TenantRateLimiter } from "./durable-objects/tenant-rate-limiter";
export { LiveFeed } from "./durable-objects/live-feed";

export default {
  fetch: app.fetch,
  // Email alerts; webhook deliveries, and the dead letters of their last failed attempts.
  queue: (batch, env) => {
    if (batch.queue === ALERT_QUEUE_NAME) return consumeAlerts(batch, env);
    return batch.queue === WEBHOOK_DEAD_LETTER_QUEUE_NAME ? consumeDeadLetters(batch, env) : consumeWebhookDeliveries(batch, env);
  },
  scheduled,
} satisfies ExportedHandler<Env>;
