/** `cloudflare:workers` for dumping the OpenAPI document in Node (vitest.openapi.config.ts): never instantiated. */
export class DurableObject {}
