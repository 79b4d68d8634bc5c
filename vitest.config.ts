import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "policies/**/*.test.ts", "detectors/**/*.test.ts"],
    pool: "forks",
    // The CLI tests run the `earmark` command as a process several times per test (each start ~5 s on a
    // 2-core machine); on such a machine one of them took just over 60 s.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Two cores: more parallel files only make each slower and timing-sensitive tests flakier.
    maxWorkers: 2,
  },
});
