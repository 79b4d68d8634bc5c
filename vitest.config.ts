import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "policies/**/*.test.ts", "detectors/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more parallel files only make each slower and timing-sensitive tests flakier.
    maxWorkers: 2,
  },
});
