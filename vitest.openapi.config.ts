import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * `npm run lint:openapi`, step one: dump the OpenAPI document in Node (scripts/dump-openapi.ts). The
 * route modules import the Durable Object classes, whose base class only exists in workerd; generating
 * the document never instantiates them, so a bare class stands in for it here.
 */
export default defineConfig({
  resolve: { alias: { "cloudflare:workers": fileURLToPath(new URL("./scripts/durable-object-stand-in.ts", import.meta.url)) } },
  test: { include: ["scripts/dump-openapi.ts"], environment: "node" },
});
