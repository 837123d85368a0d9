import { defineConfig } from "vitest/config";

// The agent runs on Node, not in workerd: its own project, apart from the Workers suite.
export default defineConfig({
  test: {
    environment: "node",
    include: ["agent/test/**/*.test.ts"],
    // Tests share one PostgreSQL, one MariaDB and a local Worker: run files one after another.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
