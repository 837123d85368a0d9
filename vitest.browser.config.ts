import { defineConfig } from "vitest/config";

// The dashboard in a real browser (Debian's Chromium through playwright-core) against `wrangler dev`:
// Node-side tests, apart from the Workers suite. Needs `npm run build` first (dist/assets).
export default defineConfig({
  test: {
    environment: "node",
    include: ["test/browser/**/*.spec.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 240_000,
  },
});
