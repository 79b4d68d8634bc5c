import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, shownValue } from "./config.js";

describe("loadConfig", () => {
  it("has working defaults for a fresh machine", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      databaseUrl: undefined,
      limits: { maxUploadBytes: 1024 ** 3, maxDurationS: 4 * 3600, requestTimeoutMs: 3600_000 },
      workers: 1,
      jobs: { maxAttempts: 5, leaseS: 60, retryBaseS: 5 },
      webhooks: { retryScheduleS: [5, 300, 1800, 7200, 18000, 36000, 36000], timeoutMs: 10_000 },
    });
    expect(c.dataDir).toMatch(/\.earmark$/);
    expect(c.blobDir).toBe(`${c.dataDir}/blobs`);
  });

  it("reads sizes and durations with units", () => {
    const c = loadConfig({
      EARMARK_MAX_UPLOAD_BYTES: "500MB",
      EARMARK_MAX_DURATION: "90m",
      EARMARK_JOB_LEASE: "1500ms",
      EARMARK_WEBHOOK_RETRY: "1s, 2m,3h",
      EARMARK_PUBLIC_URL: "https://earmark.example.org/",
    });
    expect(c.limits.maxUploadBytes).toBe(500_000_000);
    expect(c.limits.maxDurationS).toBe(5400);
    expect(c.jobs.leaseS).toBe(1.5);
    expect(c.webhooks.retryScheduleS).toEqual([1, 120, 10800]);
    expect(c.publicUrl).toBe("https://earmark.example.org");
  });

  it("takes an http(s) time-stamp authority URL and refuses anything else", () => {
    expect(loadConfig({}).c2pa.tsaUrl).toBeNull();
    expect(loadConfig({ EARMARK_C2PA_TSA_URL: "http://timestamp.example/tsa" }).c2pa.tsaUrl).toBe(
      "http://timestamp.example/tsa",
    );
    expect(() => loadConfig({ EARMARK_C2PA_TSA_URL: "ftp://timestamp.example" })).toThrow(
      /EARMARK_C2PA_TSA_URL: expected an http:\/\/ or https:\/\/ URL/,
    );
  });

  it("never shows secrets or pasted PEM in `earmark config`", () => {
    const key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----\n";
    expect(shownValue("EARMARK_C2PA_KEY", key)).toBe("<set>");
    expect(shownValue("EARMARK_C2PA_KEY", "/etc/earmark/key.pem")).toBe("<set>");
    expect(shownValue("DATABASE_URL", "postgres://u:secret@db/earmark")).toBe("<set>");
    expect(shownValue("EARMARK_C2PA_CERT", "-----BEGIN CERTIFICATE-----\nMIIB\n")).toBe("<PEM>");
    expect(shownValue("EARMARK_C2PA_CERT", "/etc/earmark/chain.pem")).toBe("/etc/earmark/chain.pem");
    expect(shownValue("PORT", undefined)).toBeUndefined();
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", PORT: "" }).port).toBe(8080);
  });

  it("names every bad variable at once", () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: "http",
        EARMARK_MAX_UPLOAD_BYTES: "big",
        DATABASE_URL: "mysql://x",
        LOG_LEVEL: "loud",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toMatch(/^PORT: /m);
    expect(problems).toMatch(/^EARMARK_MAX_UPLOAD_BYTES: expected a size such as 1GiB/m);
    expect(problems).toMatch(/^DATABASE_URL: must start with postgres:\/\//m);
    expect(problems).toMatch(/^LOG_LEVEL: /m);
  });
});
