import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_SECRETS } from "./test/test-secrets.ts";

export default defineConfig(async () => {
  // Read on the Node side, applied inside workerd by test/apply-migrations.ts.
  const migrations = await readD1Migrations({ migrationsDir: "migrations" });
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ...TEST_SECRETS,
            ALLOW_LOCAL_WEBHOOKS: "true",
          },
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      // Run by vitest.production.config.ts, against wrangler.toml's production environment.
      exclude: ["test/production/**"],
      setupFiles: ["./test/apply-migrations.ts"],
    },
  };
});
