import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeWav, makeSignal } from "../../test/harness/audio.js";
import { createTestContext, DRIVERS, type TestContext } from "../../test/harness/deps.js";
import { postUpload } from "../../test/harness/http.js";
import { startTestTsa, type TestTsa } from "../../test/harness/tsa.js";
import { createApp } from "../app.js";
import { startWorker } from "../jobs/kinds.js";
import type { Worker } from "../jobs/worker.js";

describe.each(DRIVERS)("renditions time-stamped by EARMARK_C2PA_TSA_URL (%s)", (driver) => {
  let tsa: TestTsa;
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let worker: Worker;
  let auth: { authorization: string };

  beforeAll(async () => {
    tsa = await startTestTsa();
    t = await createTestContext(driver, {
      env: {
        EARMARK_C2PA_TSA_URL: tsa.url,
        EARMARK_C2PA_TRUST_ANCHORS: tsa.rootPem,
        // Enough attempts that the outage below cannot use them all (retries start at 0.05 s and double).
        EARMARK_JOB_MAX_ATTEMPTS: "30",
      },
    });
    app = createApp(t.deps);
    worker = startWorker(t.deps, 1, { pollMs: 50 });
    auth = (await t.account()).auth;
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
    await tsa?.close();
  });

  const upload = (seed: number) =>
    postUpload(app, auth, encodeWav(makeSignal({ seconds: 3, seed })), { title: `take ${seed}` });

  async function manifestOf(id: string) {
    const res = await app.request(`/v1/uploads/${id}/manifest`, { headers: auth });
    expect(res.status).toBe(200);
    return (await res.json()) as {
      validation: { state: string; activeManifest: { timeStamp: { state: string; time: string } | null } };
    };
  }

  it("serves a rendition whose manifest carries a trusted time stamp", async () => {
    const asked = tsa.requests;
    const id = await upload(8101);
    await worker.idle();
    const { validation } = await manifestOf(id);
    expect(validation.state).toBe("trusted");
    expect(validation.activeManifest.timeStamp?.state).toBe("trusted");
    expect(Math.abs(Date.parse(validation.activeManifest.timeStamp?.time ?? "") - Date.now())).toBeLessThan(
      120_000,
    );
    expect(tsa.requests).toBe(asked + 1);
  });

  it("keeps the upload through a TSA outage and signs it once the TSA answers again", async () => {
    tsa.failWith(503);
    const asked = tsa.requests;
    const id = await upload(8102);
    try {
      // Wait until the render has tried the TSA and failed at least once.
      for (let i = 0; i < 200 && tsa.requests === asked; i++) await new Promise((r) => setTimeout(r, 50));
      expect(tsa.requests).toBeGreaterThan(asked);
      const during = await app.request(`/v1/uploads/${id}/rendition`, { headers: auth });
      expect(during.status).not.toBe(200);
    } finally {
      tsa.failWith(null);
    }
    // The render is retried with backoff: wait for the retry that finds the TSA answering again.
    for (let i = 0; i < 300; i++) {
      await worker.idle();
      const res = await app.request(`/v1/uploads/${id}/manifest`, { headers: auth });
      if (res.status !== 409) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { validation } = await manifestOf(id);
    expect(validation.activeManifest.timeStamp?.state).toBe("trusted");
  });
});
