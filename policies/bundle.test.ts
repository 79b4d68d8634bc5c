/**
 * The platform's policy bundle checks itself in `npm test`: it loads without problems, every case passes,
 * and every rule is exercised by at least one case (the same as `earmark policy test --min-coverage 100`).
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadPolicyBundle } from "../src/policy/bundle.js";
import { runPolicyTests } from "../src/policy/test-runner.js";

const dir = fileURLToPath(new URL(".", import.meta.url));

describe("the default policy bundle", async () => {
  const bundle = await loadPolicyBundle(dir, { git: false });
  const report = runPolicyTests(bundle);

  it.each(report.results.map((r) => [`${r.test.file}:${r.test.line} ${r.test.name}`, r] as const))(
    "%s",
    (_name, result) => {
      expect(result.failures).toEqual([]);
    },
  );

  it("exercises every rule", () => {
    expect(report.coverage.uncovered).toEqual([]);
  });
});
