import { createPublicKey, verify, X509Certificate } from "node:crypto";
import { decode, Tag } from "cbor-x";
import { describe, expect, it } from "vitest";
import { devTrust } from "../../../test/harness/c2pa.js";
import { buildCoseSign1, COSE_ALGORITHMS } from "./cose.js";

describe("COSE_Sign1 for c2pa-rs", () => {
  it("is exactly reserveSize bytes for every size around the length-prefix boundaries", async () => {
    const { signer } = await devTrust();
    const claim = new Uint8Array([1, 2, 3]);
    const base = (
      await buildCoseSign1({ ...signer, claim, sign: (b) => signer.sign(b), reserveSize: 100_000 })
    ).length;
    expect(base).toBe(100_000);
    // The smallest size that fits (the refusal says it), and sizes where the pad's CBOR length prefix grows.
    const refusal = await buildCoseSign1({
      ...signer,
      claim,
      sign: (b) => signer.sign(b),
      reserveSize: 10,
    }).catch((err: Error) => err.message);
    const bare = Number(/needs (\d+) bytes/.exec(String(refusal))?.[1]);
    expect(bare).toBeGreaterThan(500);
    for (const size of [
      bare,
      bare + 1,
      bare + 23,
      bare + 24,
      bare + 25,
      bare + 255,
      bare + 256,
      bare + 257,
      70_000,
    ]) {
      const cose = await buildCoseSign1({ ...signer, claim, sign: (b) => signer.sign(b), reserveSize: size });
      expect(cose.length, `reserveSize ${size}`).toBe(size);
    }
  });

  it("says how much room it needs when reserveSize is too small", async () => {
    const { signer } = await devTrust();
    await expect(
      buildCoseSign1({ ...signer, claim: new Uint8Array(1), sign: (b) => signer.sign(b), reserveSize: 100 }),
    ).rejects.toThrow(/needs \d+ bytes but c2pa-rs reserved 100; raise the signer's reserveSize/);
  });

  it("carries alg and the x5chain in the protected header and signs the Sig_structure", async () => {
    const { signer } = await devTrust();
    const claim = new TextEncoder().encode("the claim");
    const cose = await buildCoseSign1({ ...signer, claim, sign: (b) => signer.sign(b), reserveSize: 4096 });
    const tagged = decode(cose) as Tag;
    expect(tagged).toBeInstanceOf(Tag);
    expect(tagged.tag).toBe(18);
    const [protectedBytes, unprotected, payload, signature] = tagged.value as [
      Uint8Array,
      Map<string, Uint8Array> | Record<string, Uint8Array>,
      null,
      Uint8Array,
    ];
    expect(payload).toBeNull();
    expect(unprotected instanceof Map ? [...unprotected.keys()] : Object.keys(unprotected)).toContain("pad");
    const header = decode(protectedBytes) as Map<number, unknown> | Record<string, unknown>;
    const get = (k: number) => (header instanceof Map ? header.get(k) : header[String(k)]);
    expect(get(1)).toBe(COSE_ALGORITHMS.es256);
    const chain = get(33) as Uint8Array[];
    expect(chain).toHaveLength(2);
    expect(new X509Certificate(chain[0]!).subject).toContain("Earmark test signer");

    // Verify with the leaf's public key over ["Signature1", protected, h'', claim], as c2pa-rs does.
    const { Encoder } = await import("cbor-x");
    const toBeSigned = new Encoder({ useRecords: false, tagUint8Array: false }).encode([
      "Signature1",
      protectedBytes,
      new Uint8Array(0),
      claim,
    ]);
    const leafKey = createPublicKey(
      new X509Certificate(chain[0]!).publicKey.export({ format: "pem", type: "spki" }),
    );
    expect(signature).toHaveLength(64);
    expect(verify("sha256", toBeSigned, { key: leafKey, dsaEncoding: "ieee-p1363" }, signature)).toBe(true);
  });
});
