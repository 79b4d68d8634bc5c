import { describe, expect, it } from "vitest";
import { makeSignal, type Signal } from "../../test/harness/audio.js";
import { bufferSource } from "./bytes.js";
import { decodeAudio, type PcmChunk } from "./decode/index.js";
import { type EncodeTarget, encodeAudio, formatForPath, renditionTarget } from "./encode.js";
import { openAudio } from "./open.js";

const LIMITS = { maxDurationS: 3600 };

async function* chunksOf(signal: Signal, size = 4000): AsyncIterable<PcmChunk> {
  const n = signal.channels[0]!.length;
  for (let i = 0; i < n; i += size)
    yield { sampleRate: signal.sampleRate, channels: signal.channels.map((c) => c.subarray(i, i + size)) };
}

async function collect(bytes: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of bytes) parts.push(p);
  return Buffer.concat(parts);
}

async function decodeAll(bytes: Uint8Array) {
  const source = bufferSource(bytes);
  const probe = await openAudio(source, LIMITS);
  const channels: Float32Array[][] = [];
  for await (const c of decodeAudio(source, probe, LIMITS)) channels.push(c.channels);
  const joined = channels[0]!.map((_, ch) => {
    const out = new Float32Array(channels.reduce((n, c) => n + c[ch]!.length, 0));
    let at = 0;
    for (const c of channels) {
      out.set(c[ch]!, at);
      at += c[ch]!.length;
    }
    return out;
  });
  return { probe, channels: joined };
}

const target = (t: Partial<EncodeTarget>): EncodeTarget => ({
  format: "wav",
  sampleRate: 44100,
  channels: 2,
  bitDepth: 16,
  bitrateKbps: 128,
  frames: null,
  ...t,
});

describe("encodeAudio", () => {
  const signal = makeSignal({ seconds: 3, sampleRate: 44100, channels: 2, seed: 3 });
  const n = signal.channels[0]!.length;

  it.each([16, 24] as const)(
    "writes a %i-bit WAV the decoder reads back to within one step",
    async (bitDepth) => {
      const bytes = await collect(encodeAudio(chunksOf(signal), target({ bitDepth, frames: n })));
      const { probe, channels } = await decodeAll(bytes);
      expect(probe).toMatchObject({ format: "wav", sampleRate: 44100, channels: 2, bitDepth });
      expect(channels[0]!.length).toBe(n);
      const step = 2 / 2 ** bitDepth;
      for (let c = 0; c < 2; c++)
        for (let i = 0; i < n; i += 97)
          expect(Math.abs(channels[c]![i]! - signal.channels[c]![i]!)).toBeLessThanOrEqual(step);
    },
  );

  it("refuses a WAV whose frame count differs from the header it wrote", async () => {
    await expect(collect(encodeAudio(chunksOf(signal), target({ frames: n + 1 })))).rejects.toThrow(
      /header says 132301 frames, 132300 arrived/,
    );
  });

  it.each([16, 24] as const)(
    "writes %i-bit FLAC the decoder reads back to within one step",
    async (bitDepth) => {
      const bytes = await collect(encodeAudio(chunksOf(signal), target({ format: "flac", bitDepth })));
      const { probe, channels } = await decodeAll(bytes);
      expect(probe).toMatchObject({ format: "flac", sampleRate: 44100, channels: 2, bitDepth });
      expect(channels[1]!.length).toBe(n);
      let worst = 0;
      for (let c = 0; c < 2; c++)
        for (let i = 0; i < n; i++)
          worst = Math.max(worst, Math.abs(channels[c]![i]! - signal.channels[c]![i]!));
      expect(worst).toBeLessThanOrEqual(2 / 2 ** bitDepth);
    },
  );

  it("writes MP3 at the asked bitrate, same rate and channels", async () => {
    const bytes = await collect(encodeAudio(chunksOf(signal), target({ format: "mp3", bitrateKbps: 192 })));
    const { probe, channels } = await decodeAll(bytes);
    expect(probe).toMatchObject({ format: "mp3", sampleRate: 44100, channels: 2 });
    expect(probe.details.bitrateKbps).toBe(192);
    expect(Math.abs(channels[0]!.length - n)).toBeLessThan(3000); // encoder delay and padding
  });

  it("refuses chunks that do not fit the target", async () => {
    await expect(
      collect(encodeAudio(chunksOf(signal), target({ format: "flac", channels: 1 }))),
    ).rejects.toThrow(/2 channel\(s\) at 44100 Hz in a 1-channel 44100 Hz stream/);
  });
});

describe("renditionTarget", () => {
  const probe = (p: Partial<Parameters<typeof renditionTarget>[0]>) =>
    ({
      format: "wav",
      codec: "pcm_s16le",
      sampleRate: 44100,
      channels: 2,
      bitDepth: 16,
      durationS: 1,
      audioOffset: 44,
      audioBytes: 4,
      details: {},
      ...p,
    }) as Parameters<typeof renditionTarget>[0];

  it("keeps WAV, FLAC and MP3, with the word size and bitrate rounded up", () => {
    expect(renditionTarget(probe({ bitDepth: 24, details: { frames: 10 } }))).toMatchObject({
      format: "wav",
      bitDepth: 24,
      frames: 10,
    });
    expect(renditionTarget(probe({ format: "flac", bitDepth: 16 }))).toMatchObject({
      format: "flac",
      bitDepth: 16,
    });
    expect(
      renditionTarget(probe({ format: "mp3", bitDepth: null, details: { bitrateKbps: 150 } })),
    ).toMatchObject({ format: "mp3", bitrateKbps: 160 });
    expect(
      renditionTarget(probe({ format: "mp3", bitDepth: null, details: { bitrateKbps: 64 } })),
    ).toMatchObject({
      format: "mp3",
      bitrateKbps: 128,
    });
  });

  it("writes FLAC for formats without an encoder here, and for MP3 that MP3 cannot hold", () => {
    for (const format of ["m4a", "ogg-vorbis", "ogg-opus", "aac"] as const)
      expect(renditionTarget(probe({ format, bitDepth: null })).format).toBe("flac");
    expect(renditionTarget(probe({ format: "mp3", channels: 6 })).format).toBe("flac");
    expect(renditionTarget(probe({ format: "mp3", sampleRate: 96000 })).format).toBe("flac");
  });

  it("takes the output format from a file name", () => {
    expect(formatForPath("a/b.FLAC")).toBe("flac");
    expect(formatForPath("x.mp3")).toBe("mp3");
    expect(formatForPath("x.ogg")).toBeNull();
  });
});
