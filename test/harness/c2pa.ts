/**
 * C2PA test kit: a development certificate chain generated once per test file, a signer over it, and small
 * audio files of each format a manifest can be embedded in. M4A comes from the committed fixtures (no npm
 * encoder writes AAC in MP4; see test/fixtures/make-good.ts).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { AudioFormat } from "../../src/audio/format.js";
import { type GeneratedChain, generateChain } from "../../src/provenance/c2pa/certs.js";
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
