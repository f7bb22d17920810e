import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests start servers and redis-server processes; two cores go further one file at a time each.
    maxWorkers: 2,
  },
});
