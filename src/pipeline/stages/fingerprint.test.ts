import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  encodeMp3,
  encodeWav,
  excerpt,
  makeMusic,
  makeRain,
  playFaster,
} from "../../../test/harness/audio.js";
import { createTestContext, DRIVERS, type TestContext } from "../../../test/harness/deps.js";
import { uploadAndDecide } from "../../../test/harness/http.js";
import { createApp } from "../../app.js";
import { rowsOf } from "../../db/client.js";
import { fingerprints } from "../../db/schema/index.js";
import { fingerprintChunks } from "../../fingerprint/index.js";
import { lookupFingerprint, removeFingerprint } from "../../fingerprint/store.js";
import { startWorker } from "../../jobs/kinds.js";
import type { Worker } from "../../jobs/worker.js";

describe.each(DRIVERS)("fingerprint stage (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let worker: Worker;
  const original = makeMusic({ seconds: 40, seed: 41 });
  // 15 s from the 12th second, played 3 % fast.
  const fastExcerpt = playFaster(excerpt(original, 12, 15), 1.03);

  beforeAll(async () => {
    t = await createTestContext(driver);
    app = createApp(t.deps);
    worker = startWorker(t.deps, 1, { pollMs: 50 });
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
  });

  const uploadAndWait = (auth: { authorization: string }, body: Uint8Array, title: string) =>
    uploadAndDecide(app, worker, auth, body, { title });

  it("matches a sped-up MP3 excerpt to another account's upload, and the policy rejects it", async () => {
    const alice = await t.account("alice");
    const bob = await t.account("bob");
    const first = await uploadAndWait(alice.auth, encodeWav(original), "Original");
    expect(first.signals.fingerprint?.data).toEqual({ algorithmVersion: expect.any(String), matches: [] });
    expect(first.decision?.action).toBe("allow");

    const copy = await uploadAndWait(bob.auth, await encodeMp3(fastExcerpt, 128), "Totally new");
    const [match] = copy.signals.fingerprint?.data.matches ?? [];
    expect(match).toMatchObject({ uploadId: first.id, accountId: alice.id, verdict: "same-recording" });
    expect(match!.speedRatio).toBeCloseTo(1.03, 2);
    expect(match!.referenceOffsetS - match!.queryOffsetS * match!.speedRatio).toBeCloseTo(12, 0);
    expect(match!.queryCoverage).toBeGreaterThan(0.8);
    expect(copy.decision).toMatchObject({ action: "reject" });
    expect(copy.decision?.reasons.map((r) => r.ruleId)).toContain("cross-account-reupload");

    const unrelated = await uploadAndWait(bob.auth, encodeWav(makeMusic({ seconds: 30, seed: 42 })), "Other");
    expect(unrelated.signals.fingerprint?.data.matches).toEqual([]);
    expect(unrelated.decision?.action).toBe("allow");
  });

  it("matches noise-like audio re-uploaded with its first 10 s cut (frames half a hop off)", async () => {
    const dave = await t.account("dave");
    const erin = await t.account("erin");
    const rain = makeRain({ seconds: 40, seed: 71 });
    const first = await uploadAndWait(dave.auth, encodeWav(rain), "Rain");
    const copy = await uploadAndWait(erin.auth, encodeWav(excerpt(rain, 10, 30)), "Storm");
    const [match] = copy.signals.fingerprint?.data.matches ?? [];
    expect(match).toMatchObject({ uploadId: first.id, verdict: "same-recording" });
    expect(match!.referenceOffsetS - match!.queryOffsetS).toBeCloseTo(10, 1);
  });

  it("forgets a removed upload: its index rows go, and nothing matches it any more", async () => {
    const carol = await t.account("carol");
    const piece = makeMusic({ seconds: 30, seed: 77 });
    const up = await uploadAndWait(carol.auth, encodeWav(piece), "Piece");
    const query = await fingerprintChunks(
      (async function* () {
        yield { channels: piece.channels.map((c) => c.subarray(5 * 44100, 20 * 44100)), sampleRate: 44100 };
      })(),
    );
    const before = await lookupFingerprint(t.deps.database.db, query);
    expect(before[0]).toMatchObject({
      key: { uploadId: up.id, accountId: carol.id },
      verdict: "same-recording",
    });
    const [row] = await t.deps.database.db
      .select()
      .from(fingerprints)
      .where(eq(fingerprints.uploadId, up.id));
    const count = async () =>
      rowsOf<{ n: number }>(
        await t.deps.database.db.execute(
          sql`select count(*)::int as n from fingerprint_hashes where fingerprint_id = ${row!.id}`,
        ),
      )[0]!.n;
    const rows = await count();
    expect(rows).toBeGreaterThan(100);
    // Every index row is counted once in fingerprint_hash_counts (what lookups use to pick rare hashes).
    const counted = async () =>
      rowsOf<{ n: number }>(
        await t.deps.database.db.execute(
          sql`select coalesce(sum(uploads), 0)::int as n from fingerprint_hash_counts`,
        ),
      )[0]!.n;
    const countedBefore = await counted();

    expect(await removeFingerprint(t.deps.database.db, up.id)).toBe(true);
    expect(await count()).toBe(0);
    expect(await counted()).toBe(countedBefore - rows);
    expect(await lookupFingerprint(t.deps.database.db, query)).toEqual([]);
    expect(await removeFingerprint(t.deps.database.db, up.id)).toBe(false);
  });
});
