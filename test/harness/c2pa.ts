/**
 * C2PA test kit: a development certificate chain generated once per test file, a signer over it, and small
 * audio files of each format a manifest can be embedded in. M4A comes from the committed fixtures (no npm
 * encoder writes AAC in MP4; see test/fixtures/make-good.ts).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import type { AudioFormat } from "../../src/audio/format.js";
import { devCredentialPaths, type GeneratedChain, generateChain } from "../../src/provenance/c2pa/certs.js";
import { c2paMimeType } from "../../src/provenance/c2pa/formats.js";
import { readProvenance } from "../../src/provenance/c2pa/read.js";
import type { ManifestDefinition } from "../../src/provenance/c2pa/sign.js";
import { localKeySigner, type Signer } from "../../src/provenance/c2pa/signer.js";
import { GOOD_DIR } from "../fixtures/make-good.js";
import { encodeFlac, encodeMp3, encodeOggVorbis, encodeWav, makeSignal } from "./audio.js";

export interface DevTrust {
  chain: GeneratedChain;
  signer: Signer;
  trust: { anchorsPem: string };
}

let cached: Promise<DevTrust> | null = null;

/** One development root → intermediate → signer chain, its signer, and the root as the only trust anchor. */
export function devTrust(): Promise<DevTrust> {
  cached ??= (async () => {
    const chain = await generateChain({ name: "Earmark test" });
    const signer = localKeySigner({ chainPem: chain.chainPem, keyPem: chain.keyPem, source: "test chain" });
    return { chain, signer, trust: { anchorsPem: chain.rootPem } };
  })();
  return cached;
}

export const EMBEDDABLE_FORMATS = ["wav", "mp3", "flac", "m4a"] as const;

/** About a second of audio in `format`. */
export async function audioIn(
  format: (typeof EMBEDDABLE_FORMATS)[number] | "ogg-vorbis",
): Promise<Uint8Array> {
  const signal = makeSignal({ seconds: 1, seed: 5 });
  switch (format) {
    case "wav":
      return new Uint8Array(encodeWav(signal));
    case "mp3":
      return new Uint8Array(await encodeMp3(signal));
    case "flac":
      return new Uint8Array(await encodeFlac(signal));
    case "m4a":
      return new Uint8Array(readFileSync(path.join(GOOD_DIR, "aac-stereo-44k.m4a")));
    case "ogg-vorbis":
      return new Uint8Array(await encodeOggVorbis(signal));
  }
}

/** A minimal manifest: a generated recording, as a generator would sign it. */
export function simpleManifest(format: AudioFormat, title = `test.${format}`): ManifestDefinition {
  return {
    title,
    claimGenerator: { name: "Earmark test", version: "1" },
    assertions: [
      {
        label: "c2pa.actions",
        data: {
          actions: [
            {
              action: "c2pa.created",
              digitalSourceType: "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
            },
          ],
        },
      },
    ],
  };
}

/**
 * A rendition as Earmark distributes it: for WAV, MP3, FLAC and M4A the upload plus Earmark's signed
 * manifest, trusted under the development root in `dataDir`, with the upload as its `parentOf` ingredient;
 * for Ogg and ADTS AAC (no place for a manifest) the upload's bytes unchanged.
 */
export async function expectRenditionOf(
  rendition: Uint8Array,
  original: Uint8Array,
  format: AudioFormat,
  dataDir: string,
): Promise<void> {
  if (!c2paMimeType(format)) {
    expect(Buffer.from(rendition).equals(Buffer.from(original)), `${format}: the upload's bytes`).toBe(true);
    return;
  }
  const anchorsPem = readFileSync(devCredentialPaths(dataDir).root, "utf8");
  const { signal, store } = await readProvenance(rendition, format, { anchorsPem });
  expect(signal.state, `${format}: ${JSON.stringify(signal)}`).toBe("trusted");
  expect(signal.activeManifest?.claimGenerator).toMatch(/^Earmark\//);
  const active = store?.manifests?.[store.active_manifest ?? ""] as {
    ingredients?: { relationship: string }[];
  };
  expect(active.ingredients?.map((i) => i.relationship)).toEqual(["parentOf"]);
  expect(rendition.length).toBeGreaterThan(original.length);
}
