import { createPrivateKey, sign as cryptoSign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { audioIn, devTrust, EMBEDDABLE_FORMATS, simpleManifest } from "../../../test/harness/c2pa.js";
import { bufferSource } from "../../audio/bytes.js";
import { openAudio } from "../../audio/open.js";
import { generateChain, pemCertificates, SIGNING_EKUS } from "./certs.js";
import { UnsupportedProvenanceFormatError } from "./formats.js";
import { readProvenance } from "./read.js";
import { signAudio } from "./sign.js";
import { localKeySigner, type Signer } from "./signer.js";
import { x509 } from "./x509.js";

const LIMITS = { maxDurationS: 3600 };
const TAMPER_CODE = {
  wav: "assertion.dataHash.mismatch",
  mp3: "assertion.dataHash.mismatch",
  flac: "assertion.dataHash.mismatch",
  m4a: "assertion.bmffHash.mismatch",
} as const;

/** A copy of a file with one byte in the middle of its audio changed (the manifest left as it was). */
async function withChangedAudio(bytes: Uint8Array): Promise<Uint8Array> {
  const probe = await openAudio(bufferSource(bytes), LIMITS);
  const changed = bytes.slice();
  const at = probe.audioOffset + Math.floor(probe.audioBytes / 2);
  changed[at] = changed[at]! ^ 0x5a;
  return changed;
}

describe.each(EMBEDDABLE_FORMATS)("C2PA in %s", (format) => {
  it("signs, and the file reads back trusted under the dev anchor with what was stated", async () => {
    const { signer, trust } = await devTrust();
    const input = await audioIn(format);
    const signed = await signAudio(input, format, simpleManifest(format), signer, trust);
    expect(signed.parent).toBe(false);

    const { signal } = await readProvenance(signed.bytes, format, trust);
    expect(signal).toMatchObject({ present: true, state: "trusted", statusCodes: [], problem: null });
    expect(signal.activeManifest).toMatchObject({
      claimGenerator: expect.stringContaining("Earmark test/1"),
      signer: "Earmark test signer",
      actions: ["c2pa.created"],
      digitalSourceTypes: ["http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"],
    });
    // Still the same audio to Earmark's own probe: signing must not break the container.
    const probe = await openAudio(bufferSource(signed.bytes), LIMITS);
    expect(probe.format).toBe(format);
    expect(probe.sampleRate).toBe((await openAudio(bufferSource(input), LIMITS)).sampleRate);
  });

  it("is valid but untrusted without the signer's root among the anchors", async () => {
    const { signer, trust } = await devTrust();
    const signed = await signAudio(await audioIn(format), format, simpleManifest(format), signer, trust);
    const other = await generateChain({ name: "Someone else" });
    const { signal } = await readProvenance(signed.bytes, format, { anchorsPem: other.rootPem });
    expect(signal.state).toBe("valid");
    expect(signal.statusCodes).toEqual(["signingCredential.untrusted"]);
  });

  it("reads changed audio as invalid with the hash mismatch", async () => {
    const { signer, trust } = await devTrust();
    const signed = await signAudio(await audioIn(format), format, simpleManifest(format), signer, trust);
    const tampered = await withChangedAudio(signed.bytes);
    const { signal } = await readProvenance(tampered, format, trust);
    expect(signal.present).toBe(true);
    expect(signal.state).toBe("invalid");
    expect(signal.statusCodes).toContain(TAMPER_CODE[format]);
  });

  it("keeps a manifest the file already had as the parentOf ingredient; both validate", async () => {
    const { signer, trust } = await devTrust();
    const first = await signAudio(
      await audioIn(format),
      format,
      simpleManifest(format, "as made"),
      signer,
      trust,
    );
    const second = await signAudio(
      first.bytes,
      format,
      simpleManifest(format, "as distributed"),
      signer,
      trust,
    );
    expect(second.parent).toBe(true);
    expect(second.readBack.state).toBe("trusted");
    expect(second.readBack.activeManifest?.actions[0]).toBe("c2pa.opened");
    const store = second.store;
    const active = store.manifests?.[store.active_manifest ?? ""] as {
      title: string;
      ingredients: { relationship: string; active_manifest: string; validation_results: unknown }[];
    };
    expect(active.title).toBe("as distributed");
    expect(Object.keys(store.manifests ?? {})).toHaveLength(2);
    expect(active.ingredients).toHaveLength(1);
    expect(active.ingredients[0]?.relationship).toBe("parentOf");
    const parentLabel = active.ingredients[0]?.active_manifest ?? "";
    expect(store.manifests?.[parentLabel]).toMatchObject({ title: "as made" });
    expect(active.ingredients[0]?.validation_results).toMatchObject({ activeManifest: { failure: [] } });
    expect(second.readBack.activeManifest?.parent).toEqual({
      title: "as distributed (as received)",
      manifest: "trusted",
      statusCodes: [],
    });
  });

  it("shows on the rendition that its parent's manifest was invalid, or that it had none", async () => {
    const { signer, trust } = await devTrust();
    const first = await signAudio(await audioIn(format), format, simpleManifest(format), signer, trust);
    const tampered = await withChangedAudio(first.bytes);
    const rendition = await signAudio(
      await audioIn(format),
      format,
      simpleManifest(format, "out"),
      signer,
      trust,
      {
        parent: { bytes: tampered, format, title: "as uploaded" },
      },
    );
    // The rendition's own manifest is sound; what it was made from is recorded as it was.
    expect(rendition.readBack.state).toBe("trusted");
    expect(rendition.readBack.activeManifest?.parent).toEqual({
      title: "as uploaded",
      manifest: "invalid",
      statusCodes: [TAMPER_CODE[format]],
    });
    const plain = await signAudio(
      await audioIn(format),
      format,
      simpleManifest(format, "out"),
      signer,
      trust,
      {
        parent: { bytes: await audioIn(format), format, title: "plain upload" },
      },
    );
    expect(plain.readBack.activeManifest?.parent).toEqual({
      title: "plain upload",
      manifest: null,
      statusCodes: [],
    });
  });

  it("reads an unsigned file as no manifest, not an error", async () => {
    const { trust } = await devTrust();
    const { signal, store } = await readProvenance(await audioIn(format), format, trust);
    expect(signal).toEqual({
      present: false,
      state: null,
      statusCodes: [],
      activeManifest: null,
      problem: null,
    });
    expect(store).toBeNull();
  });

  it("reads a truncated file as never trusted, saying why", async () => {
    const { signer, trust } = await devTrust();
    const signed = await signAudio(await audioIn(format), format, simpleManifest(format), signer, trust);
    const half = await readProvenance(signed.bytes.subarray(0, signed.bytes.length >> 1), format, trust);
    if (format === "wav" || format === "m4a") {
      // The container's own sizes no longer add up: c2pa-rs refuses to parse it at all.
      expect(half.signal.present).toBe(false);
      expect(half.signal.problem?.code).toBe("unreadable");
      expect(half.signal.problem?.detail).toMatch(/container cannot be parsed: .*InvalidAsset/);
    } else {
      // The manifest sits in the header and survives; the audio it covers does not.
      expect(half.signal).toMatchObject({ present: true, state: "invalid", problem: null });
      expect(half.signal.statusCodes).toContain("assertion.dataHash.mismatch");
    }
    if (format === "mp3" || format === "flac") {
      // Cut inside the manifest itself.
      const cut = await readProvenance(signed.bytes.subarray(0, 2000), format, trust);
      expect(cut.signal).toMatchObject({ present: true, state: "invalid", problem: { code: "unreadable" } });
      expect(cut.signal.problem?.detail).toMatch(/manifest is cut off or malformed/);
    }
  });
});

describe("C2PA signing", () => {
  it("refuses Ogg: it cannot carry an embedded manifest, a sidecar is needed", async () => {
    const { signer, trust } = await devTrust();
    const ogg = await audioIn("ogg-vorbis");
    await expect(signAudio(ogg, "ogg-vorbis", simpleManifest("ogg-vorbis"), signer, trust)).rejects.toThrow(
      UnsupportedProvenanceFormatError,
    );
    await expect(signAudio(ogg, "ogg-vorbis", simpleManifest("ogg-vorbis"), signer, trust)).rejects.toThrow(
      /sidecar/,
    );
    const { signal } = await readProvenance(ogg, "ogg-vorbis", trust);
    expect(signal.present).toBe(false);
    expect(signal.problem?.code).toBe("unsupported-format");
  });

  it("refuses a signer whose signatures do not verify, naming the status code", async () => {
    const { chain, trust } = await devTrust();
    const honest = localKeySigner({ chainPem: chain.chainPem, keyPem: chain.keyPem, source: "test" });
    // A key that does not match the certificate would look the same to c2pa-rs.
    const broken = { ...honest, sign: async (b: Uint8Array) => (await honest.sign(b)).map((x) => x ^ 1) };
    await expect(
      signAudio(await audioIn("wav"), "wav", simpleManifest("wav"), broken, trust),
    ).rejects.toThrow(
      /could not sign the wav file: c2pa-rs found the manifest invalid: claimSignature.mismatch \(claim signature is not valid\)$/,
    );
  });

  it("signs concurrently on the one WASM instance", async () => {
    const { signer, trust } = await devTrust();
    const results = await Promise.all(
      EMBEDDABLE_FORMATS.map(async (f) => signAudio(await audioIn(f), f, simpleManifest(f), signer, trust)),
    );
    expect(results.map((r) => r.readBack.state)).toEqual(["trusted", "trusted", "trusted", "trusted"]);
  });
});

describe("what the start-up check refuses, c2pa-rs refuses too", () => {
  it.each([
    [
      "no extendedKeyUsage",
      [new x509.BasicConstraintsExtension(false), new x509.KeyUsagesExtension(1, true)],
    ],
    [
      "a CA certificate",
      [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(1 | 32, true),
        new x509.ExtendedKeyUsageExtension([SIGNING_EKUS.emailProtection]),
      ],
    ],
  ])("%s: the signed file never validates", async (_what, leafExtensions) => {
    const chain = await generateChain({ leafExtensions });
    const key = createPrivateKey(chain.keyPem);
    // Bypasses localKeySigner's check on purpose, to see what c2pa-rs does with such a certificate.
    const unchecked: Signer = {
      alg: "es256",
      certChainDer: pemCertificates(chain.chainPem, "test"),
      sign: async (b) => new Uint8Array(cryptoSign("sha256", b, { key, dsaEncoding: "ieee-p1363" })),
    };
    await expect(
      signAudio(await audioIn("wav"), "wav", simpleManifest("wav"), unchecked, { anchorsPem: chain.rootPem }),
    ).rejects.toThrow(/c2pa-rs found the manifest invalid: .*signingCredential\.invalid/);
  });
});
