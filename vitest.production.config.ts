import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { strongTestSecrets } from "./test/test-secrets.ts";

/**
 * The Worker as `[env.production]` of wrangler.toml configures it (its vars, its bindings, Analytics Engine
 * included), run locally: proves the production configuration starts and behaves, e.g. logs nothing secret.
 * Three projects: the configuration as it is; an unmigrated D1 (a deploy that skipped `d1 migrations apply
 * --remote`); and a Durable Object binding to the wrong class. In the last two the deep health check must
 * answer 503 naming the part.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations({ migrationsDir: "migrations" });
  const secrets = strongTestSecrets();
  const production = (testMigrations: typeof migrations, overrides: Record<string, unknown> = {}) =>
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml", environment: "production" },
      miniflare: { bindings: { TEST_MIGRATIONS: testMigrations, ...secrets }, ...overrides },
    });
  return {
    test: {
      projects: [
        {
          // The outbox on, as an operator may set it: the log test follows the emailed links from there.
          plugins: [production(migrations, { bindings: { TEST_MIGRATIONS: migrations, ...secrets, EMAIL_OUTBOX: "true" } })],
          test: { name: "production", include: ["test/production/**/*.test.ts"], exclude: ["test/production/unmigrated/**", "test/production/broken-binding/**"], setupFiles: ["./test/apply-migrations.ts"] },
        },
        {
          plugins: [production([])],
          // No setup file warms this project up: its first request also loads the whole Worker (seconds on a busy machine).
          test: { name: "production-unmigrated", include: ["test/production/unmigrated/**/*.test.ts"], testTimeout: 30_000 },
        },
        {
          // A broken binding: TENANT_RATE_LIMITER bound to the wrong class (a class_name typo in wrangler.toml).
          plugins: [production(migrations, { durableObjects: { TENANT_RATE_LIMITER: { className: "AgentSession", useSQLite: true } } })],
          test: { name: "production-broken-binding", include: ["test/production/broken-binding/**/*.test.ts"], setupFiles: ["./test/apply-migrations.ts"] },
        },
      ],
    },
  };
});
