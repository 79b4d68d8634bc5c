/**
 * C2PA test kit: a development certificate chain generated once per test file, a signer over it, and small
 * audio files of each format a manifest can be embedded in. M4A comes from the committed fixtures (no npm
 * encoder writes AAC in MP4; see test/fixtures/make-good.ts).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { bufferSource } from "../../src/audio/bytes.js";
import type { AudioFormat } from "../../src/audio/format.js";
import { openAudio } from "../../src/audio/open.js";
import { devCredentialPaths, type GeneratedChain, generateChain } from "../../src/provenance/c2pa/certs.js";
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
 * A rendition as Earmark distributes it: the upload decoded, watermarked and written again — WAV, MP3 and
 * FLAC in their own format, every other format as FLAC — with Earmark's signed manifest, trusted under the
 * development root in `dataDir` and the upload as its `parentOf` ingredient; same rate and channels. (The
 * watermark in it is checked by src/pipeline/stages/watermark.test.ts.)
 */
export async function expectRenditionOf(
  rendition: Uint8Array,
  original: Uint8Array,
  format: AudioFormat,
  dataDir: string,
): Promise<void> {
  const limits = { maxDurationS: 3600 };
  const [out, ins] = await Promise.all([
    openAudio(bufferSource(rendition), limits),
    openAudio(bufferSource(original), limits),
  ]);
  const expected = format === "wav" || format === "mp3" ? format : "flac";
  expect(out.format, `${format} is distributed as ${expected}`).toBe(expected);
  expect({ rate: out.sampleRate, channels: out.channels }).toEqual({
    rate: ins.sampleRate,
    channels: ins.channels,
  });
  const anchorsPem = readFileSync(devCredentialPaths(dataDir).root, "utf8");
  const { signal, store } = await readProvenance(rendition, out.format, { anchorsPem });
  expect(signal.state, `${format}: ${JSON.stringify(signal)}`).toBe("trusted");
  expect(signal.activeManifest?.claimGenerator).toMatch(/^Earmark\//);
  const active = store?.manifests?.[store.active_manifest ?? ""] as {
    ingredients?: { relationship: string }[];
  };
  expect(active.ingredients?.map((i) => i.relationship)).toEqual(["parentOf"]);
}
