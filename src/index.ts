import { app } from "./app";

export { AgentSession } from "./durable-objects/agent-session";
export { TenantRateLimiter } from "./durable-objects/tenant-rate-limiter";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
