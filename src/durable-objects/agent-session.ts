import { DurableObject } from "cloudflare:workers";

/** One per agent (named by agentId): holds its WebSocket and its durable command queue. */
export class AgentSession extends DurableObject<Env> {}
