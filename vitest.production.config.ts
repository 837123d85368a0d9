import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_SECRETS } from "./test/test-secrets.ts";

/**
 * The Worker as `[env.production]` of wrangler.toml configures it (its vars, its bindings, Analytics Engine
 * included), run locally: proves the production configuration starts and behaves, e.g. logs nothing secret.
 * Two projects: a migrated D1, and an unmigrated one (a deploy that skipped `d1 migrations apply --remote`),
 * where the deep health check must answer 503.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations({ migrationsDir: "migrations" });
  const production = (testMigrations: typeof migrations) =>
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml", environment: "production" },
      miniflare: { bindings: { TEST_MIGRATIONS: testMigrations, ...TEST_SECRETS } },
    });
  return {
    test: {
      projects: [
        {
          plugins: [production(migrations)],
          test: { name: "production", include: ["test/production/**/*.test.ts"], exclude: ["test/production/unmigrated/**"], setupFiles: ["./test/apply-migrations.ts"] },
        },
        {
          plugins: [production([])],
          // No setup file warms this project up: its first request also loads the whole Worker (seconds on a busy machine).
          test: { name: "production-unmigrated", include: ["test/production/unmigrated/**/*.test.ts"], testTimeout: 30_000 },
        },
      ],
    },
  };
});
