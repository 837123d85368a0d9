import { DurableObject } from "cloudflare:workers";

/** One per subscriber (named by subscriberId): enforces the plan's requests per minute. */
export class TenantRateLimiter extends DurableObject<Env> {}
