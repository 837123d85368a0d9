import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_SECRETS } from "./test/test-secrets.ts";

/**
 * Benchmarks that need the Worker's code next to a real local D1 (workerd's, as `wrangler dev` runs it)
 * and direct seeding: `npm run bench:sweeps`, `npm run bench:d1`. They print figures; they assert nothing
 * about speed.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations({ migrationsDir: "migrations" });
  return {
    plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" }, miniflare: { bindings: { TEST_MIGRATIONS: migrations, ...TEST_SECRETS } } })],
    test: {
      include: ["bench/**/*.workers.ts"],
      setupFiles: ["./test/apply-migrations.ts"],
      testTimeout: 600_000,
    },
  };
});
