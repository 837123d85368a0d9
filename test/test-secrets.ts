import { randomBytes } from "node:crypto";

// The Worker's secrets in every test configuration (vitest.config.ts, vitest.production.config.ts); read on the Node side.
export const TEST_SECRETS = {
  JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789abcdef",
  ADMIN_TOKEN: "test-admin-token",
  ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
};

/**
 * The production configuration refuses weak or published secrets (src/lib/environment.ts), so its tests get
 * strong ones, drawn afresh for each run.
 */
export const strongTestSecrets = () => ({
  JWT_SECRET: randomBytes(48).toString("base64"),
  ADMIN_TOKEN: randomBytes(32).toString("base64"),
  ENCRYPTION_KEY: randomBytes(32).toString("base64"),
});
