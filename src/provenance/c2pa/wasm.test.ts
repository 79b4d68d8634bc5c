import { afterEach, describe, expect, it } from "vitest";
import { audioIn, devTrust, simpleManifest } from "../../../test/harness/c2pa.js";
import { startTestTsa } from "../../../test/harness/tsa.js";
import { signAudio } from "./sign.js";
import type { TimeStamper } from "./timestamp.js";
import { rfc3161TimeStamper } from "./timestamp.js";
import { setC2paConcurrency, withC2pa } from "./wasm.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(() => setC2paConcurrency(2));

describe("the bound on concurrent C2PA work (EARMARK_C2PA_CONCURRENCY)", () => {
  it.each([1, 3])("lets %i operations hold the WASM instance at once, in arrival order", async (n) => {
    setC2paConcurrency(n);
    let active = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        withC2pa(async () => {
          order.push(i);
          most = Math.max(most, ++active);
          await sleep(20);
          active--;
        }),
      ),
    );
    expect(most).toBe(n);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it("frees the slot when the work fails", async () => {
    setC2paConcurrency(1);
    await expect(withC2pa(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(withC2pa(async () => "next")).resolves.toBe("next");
  });

  it("holds signings to one at a time with one slot, each still trusted", async () => {
    setC2paConcurrency(1);
    const tsa = await startTestTsa();
    try {
      const { signer, trust } = await devTrust();
      const real = rfc3161TimeStamper({ url: tsa.url });
      let active = 0;
      let most = 0;
      // A time-stamp authority that takes a while: the slot is held while it answers.
      const slow: TimeStamper = {
        name: "slow",
        async stamp(message) {
          most = Math.max(most, ++active);
          await sleep(30);
          try {
            return await real.stamp(message);
          } finally {
            active--;
          }
        },
      };
      const anchors = { anchorsPem: `${trust.anchorsPem}\n${tsa.rootPem}` };
      const signed = await Promise.all(
        ["wav", "mp3", "flac"].map(async (f) => {
          const format = f as "wav" | "mp3" | "flac";
          return signAudio(await audioIn(format), format, simpleManifest(format), signer, anchors, {
            timeStamper: slow,
          });
        }),
      );
      expect(most).toBe(1);
      expect(signed.map((s) => s.readBack.activeManifest?.timeStamp?.state)).toEqual([
        "trusted",
        "trusted",
        "trusted",
      ]);
    } finally {
      await tsa.close();
    }
  });

  it("refuses a bound below one", () => {
    expect(() => setC2paConcurrency(0)).toThrow(/whole number ≥ 1/);
  });
});
