import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  ascii,
  concat,
  damage,
  flacFrameOffsets,
  fmtBody,
  id3Tag,
  mp3FrameOffsets,
  oggPages,
  riffChunk,
  setFlacTotalSamples,
  setOggCrc,
  u16le,
  wavOf,
  xingFrame,
} from "../../../test/fixtures/make-bad.js";
import { GOOD, GOOD_DIR, type GoodFixture, goodSignal } from "../../../test/fixtures/make-good.js";
import {
  encodeFlac,
  encodeMp3,
  encodeOggVorbis,
  encodeOpus,
  encodeWav,
  makeSignal,
  type Signal,
  type WavSampleFormat,
} from "../../../test/harness/audio.js";
import { AudioInputError } from "../../errors.js";
import { bufferSource } from "../bytes.js";
import { type AudioFormat, sniff } from "../format.js";
import { probeAudio } from "../probe/index.js";
import { decodeAudio } from "./index.js";

const LIMITS = { maxDurationS: 3600 };
const good = (file: string) => new Uint8Array(readFileSync(path.join(GOOD_DIR, file)));

interface Decoded {
  channels: Float32Array[];
  sampleRate: number;
  frames: number;
  chunks: number;
}

function formatOf(bytes: Uint8Array): AudioFormat {
  const found = sniff(bytes.subarray(0, 65536));
  if (found.kind !== "audio") throw new Error(`not audio: ${found.what}`);
  return found.format;
}

/** Probes and decodes the whole file, feeding the decoder `chunkSize` bytes at a time. */
async function decodeAll(
  bytes: Uint8Array,
  opts: { chunkSize?: number; maxDurationS?: number } = {},
): Promise<Decoded> {
  const limits = { maxDurationS: opts.maxDurationS ?? LIMITS.maxDurationS };
  const probe = await probeAudio(bufferSource(bytes), formatOf(bytes), limits);
  const parts: Float32Array[][] = [];
  let sampleRate = 0;
  for await (const chunk of decodeAudio(bufferSource(bytes, opts.chunkSize), probe, limits)) {
    expect(new Set(chunk.channels.map((c) => c.length)).size).toBe(1);
    parts.push(chunk.channels);
    sampleRate = chunk.sampleRate;
  }
  const frames = parts.reduce((n, p) => n + p[0]!.length, 0);
  const channels = (parts[0] ?? []).map((_, c) => {
    const out = new Float32Array(frames);
    let at = 0;
    for (const p of parts) {
      out.set(p[c]!, at);
      at += p[c]!.length;
    }
    return out;
  });
  return { channels, sampleRate, frames, chunks: parts.length };
}

/** The AudioInputError decoding throws (or fails the test). */
async function decodeError(bytes: Uint8Array, maxDurationS = LIMITS.maxDurationS): Promise<AudioInputError> {
  const err = await decodeAll(bytes, { maxDurationS }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AudioInputError);
  return err as AudioInputError;
}

/** What a WAV of `format` holds for `x`, as a float: the harness writer's quantisation, done here from scratch. */
function quantise(x: number, format: WavSampleFormat): number {
  const v = Math.max(-1, Math.min(1, x));
  const int = (bits: number) => {
    const full = 2 ** (bits - 1);
    return Math.max(-full, Math.min(full - 1, Math.round(v * full))) / full;
  };
  switch (format) {
    case "u8":
      return (Math.min(255, Math.round(v * 128 + 128)) - 128) / 128;
    case "s16":
      return int(16);
    case "s24":
      return int(24);
    case "s32":
      return int(32);
    case "f32":
      return Math.fround(v);
  }
}

function countMismatches(got: Float32Array, want: (i: number) => number): number {
  let bad = 0;
  for (let i = 0; i < got.length; i++) if (got[i] !== Math.fround(want(i))) bad++;
  return bad;
}

/**
 * Normalised cross-correlation of `ref` against `got` shifted by each lag in ±maxLag, over a window of `ref`
 * (got[i + lag] ~ ref[i]); the best lag and its correlation.
 */
function align(ref: Float32Array, got: Float32Array, maxLag: number): { lag: number; corr: number } {
  const from = Math.min(maxLag, Math.floor(ref.length / 4));
  const to = Math.min(ref.length, got.length) - maxLag;
  let best = { lag: 0, corr: -2 };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let i = from; i < to; i++) {
      const a = ref[i]!;
      const b = got[i + lag] ?? 0;
      sab += a * b;
      saa += a * a;
      sbb += b * b;
    }
    const corr = sab / Math.sqrt(saa * sbb || 1);
    if (corr > best.corr) best = { lag, corr };
  }
  return best;
}

/**
 * Lossy codecs must give back the signal: after aligning for the codec's delay, each decoded channel must
 * correlate with its input channel at 0.95 or more. The encoders here reach 0.977–0.999 on this signal (tones
 * plus noise 29 dB down, which low bitrates drop); 0.95 (≈ 10 dB signal-to-error) leaves room for encoder
 * versions while anything really wrong — another channel, a wrong rate, a shifted or garbled stream, silence
 * — lands near 0.
 */
const MIN_CORRELATION = 0.95;

describe("decoding PCM WAV", () => {
  const signal = makeSignal({ seconds: 1, sampleRate: 22050, channels: 2 });
  it.each(["u8", "s16", "s24", "s32", "f32"] as const)(
    "%s decodes sample-exactly to the quantised input",
    async (format) => {
      const d = await decodeAll(encodeWav(signal, format));
      expect(d).toMatchObject({ sampleRate: 22050, frames: 22050 });
      expect(d.channels).toHaveLength(2);
      for (let c = 0; c < 2; c++) {
        const x = signal.channels[c]!;
        expect(countMismatches(d.channels[c]!, (i) => quantise(x[i]!, format))).toBe(0);
      }
    },
  );

  it("decodes 64-bit float (format tag 3, 64 bits)", async () => {
    const values = [0, 0.5, -0.25, 1 / 3, -1, 0.999];
    const data = new Uint8Array(values.length * 8);
    for (const [i, v] of values.entries()) new DataView(data.buffer).setFloat64(i * 8, v, true);
    const wav = wavOf([
      riffChunk("fmt ", fmtBody({ tag: 3, channels: 1, rate: 8000, bits: 64 })),
      riffChunk("data", data),
    ]);
    const d = await decodeAll(wav);
    expect(Array.from(d.channels[0]!)).toEqual(values.map((v) => Math.fround(v)));
  });

  it("decodes 6 channels, each to its own quantised input", async () => {
    const six = makeSignal({ seconds: 0.5, sampleRate: 48000, channels: 6, seed: 3 });
    // Make every channel different: scale channel c by (c + 1) / 8.
    for (const [c, ch] of six.channels.entries())
      for (let i = 0; i < ch.length; i++) ch[i] = (ch[i]! * (c + 1)) / 8;
    const d = await decodeAll(encodeWav(six, "s24"));
    expect(d.channels).toHaveLength(6);
    expect(d.frames).toBe(24000);
    for (const [c, x] of six.channels.entries())
      expect(
        countMismatches(d.channels[c]!, (i) => quantise(x[i]!, "s24")),
        `channel ${c}`,
      ).toBe(0);
  });

  it("decodes WAVE_FORMAT_EXTENSIBLE like the plain header", async () => {
    const plain = encodeWav(makeSignal({ seconds: 0.3, sampleRate: 16000, channels: 2 }));
    const guidTail = Uint8Array.of(0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71);
    const fmt = concat(
      fmtBody({ tag: 0xfffe, channels: 2, rate: 16000, bits: 16 }),
      u16le(22),
      u16le(16),
      Uint8Array.of(3, 0, 0, 0),
      u16le(1),
      guidTail,
    );
    const ext = wavOf([riffChunk("fmt ", fmt), riffChunk("data", plain.subarray(44))]);
    const a = await decodeAll(plain);
    const b = await decodeAll(ext);
    expect(b.channels).toEqual(a.channels);
  });
});

describe("G.711 expansion", () => {
  // From the G.711 tables. A-law: code XOR 0x55 gives sign (bit 7, 1 = positive), segment s (bits 6–4) and
  // step q (bits 3–0); the 13-bit magnitude is 2q + 1 for s = 0 and (2q + 33)·2^(s−1) above, ×8 for 16 bits.
  // µ-law: the complemented code gives sign (1 = negative), s and q; the 14-bit magnitude is (2q + 33)·2^s − 33,
  // ×4 for 16 bits.
  const alaw = (code: number) => {
    const a = code ^ 0x55;
    const s = (a >> 4) & 7;
    const q = a & 15;
    const mag = (s === 0 ? 2 * q + 1 : (2 * q + 33) * 2 ** (s - 1)) * 8;
    return (a & 0x80 ? mag : -mag) / 32768;
  };
  const mulaw = (code: number) => {
    const u = ~code & 0xff;
    const s = (u >> 4) & 7;
    const q = u & 15;
    const mag = ((2 * q + 33) * 2 ** s - 33) * 4;
    return (u & 0x80 ? -mag : mag) / 32768;
  };
  const allCodes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const wavOfCodes = (tag: number) =>
    wavOf([
      riffChunk("fmt ", fmtBody({ tag, channels: 1, rate: 8000, bits: 8 })),
      riffChunk("data", allCodes),
    ]);

  it("expands every A-law code as G.711 defines it", async () => {
    const d = await decodeAll(wavOfCodes(6));
    expect(countMismatches(d.channels[0]!, alaw)).toBe(0);
    // Well-known values: 0xD5 → +8, 0x55 → −8, 0xAA → +32256, 0x2A → −32256 (16-bit scale).
    expect([0xd5, 0x55, 0xaa, 0x2a].map((c) => d.channels[0]![c]! * 32768)).toEqual([8, -8, 32256, -32256]);
  });

  it("expands every µ-law code as G.711 defines it", async () => {
    const d = await decodeAll(wavOfCodes(7));
    expect(countMismatches(d.channels[0]!, mulaw)).toBe(0);
    // 0xFF and 0x7F are the two zeros; 0x80 → +32124, 0x00 → −32124.
    expect([0xff, 0x7f, 0x80, 0x00].map((c) => d.channels[0]![c]! * 32768 + 0)).toEqual([
      0, 0, 32124, -32124,
    ]);
  });
});

describe("decoding lossless codecs", () => {
  it("FLAC from the reference encoder decodes to exactly the 24-bit samples it was given", async () => {
    const f = GOOD.find((g) => g.file === "flac-ref-48k-24bit.flac")!;
    const d = await decodeAll(good(f.file));
    const signal = goodSignal(f);
    expect(d).toMatchObject({ sampleRate: 48000, frames: signal.channels[0]!.length });
    expect(d.channels).toHaveLength(2);
    // The decoder scales by 1/(2^23 − 1), not 1/2^23: compare in the integer domain.
    for (let c = 0; c < 2; c++) {
      const x = signal.channels[c]!;
      const got = d.channels[c]!;
      let bad = 0;
      for (let i = 0; i < got.length; i++)
        if (Math.round(got[i]! * 2 ** 23) !== Math.round(quantise(x[i]!, "s24") * 2 ** 23)) bad++;
      expect(bad).toBe(0);
    }
  });

  it("ALAC in M4A decodes to exactly the 16-bit samples it was given", async () => {
    const f = GOOD.find((g) => g.codec === "alac")!;
    const d = await decodeAll(good(f.file));
    const x = goodSignal(f).channels[0]!;
    expect(d).toMatchObject({ sampleRate: 44100, frames: x.length });
    let bad = 0;
    for (let i = 0; i < x.length; i++)
      if (Math.round(d.channels[0]![i]! * 32768) !== Math.round(quantise(x[i]!, "s16") * 32768)) bad++;
    expect(bad).toBe(0);
  });

  it.each([16, 24] as const)(
    "%i-bit FLAC from the npm encoder decodes within one step of the input",
    async (bits) => {
      const signal = makeSignal({ seconds: 1, sampleRate: 44100, channels: 2 });
      const d = await decodeAll(await encodeFlac(signal, bits));
      expect(d).toMatchObject({ sampleRate: 44100, frames: 44100 });
      const step = 2 ** -(bits - 1);
      for (let c = 0; c < 2; c++) {
        let worst = 0;
        for (let i = 0; i < 44100; i++)
          worst = Math.max(worst, Math.abs(d.channels[c]![i]! - signal.channels[c]![i]!));
        expect(worst).toBeLessThanOrEqual(step * 1.01);
      }
    },
  );
});

describe("decoding lossy codecs", () => {
  async function expectFaithful(d: Decoded, signal: Signal, maxLag: number, lag?: number) {
    expect(d.channels).toHaveLength(signal.channels.length);
    for (let c = 0; c < signal.channels.length; c++) {
      const found = align(signal.channels[c]!, d.channels[c]!, maxLag);
      expect(found.corr, `channel ${c}`).toBeGreaterThanOrEqual(MIN_CORRELATION);
      if (lag !== undefined) expect(found.lag, `channel ${c} lag`).toBe(lag);
    }
  }

  it("MP3 (no LAME tag): all frames come back, including encoder delay and padding", async () => {
    const signal = makeSignal({ seconds: 1, sampleRate: 44100, channels: 2 });
    const d = await decodeAll(await encodeMp3(signal, 128));
    expect(d.sampleRate).toBe(44100);
    expect(d.frames % 1152).toBe(0);
    expect(d.frames).toBeGreaterThanOrEqual(44100);
    expect(d.frames).toBeLessThanOrEqual(44100 + 2 * 1152);
    await expectFaithful(d, signal, 2400);
  });

  it("mono MP3 comes back as one channel (mpg123 itself always gives two)", async () => {
    const signal = makeSignal({ seconds: 1, sampleRate: 22050, channels: 1 });
    const d = await decodeAll(await encodeMp3(signal, 32));
    expect(d.channels).toHaveLength(1);
    expect(d.sampleRate).toBe(22050);
    await expectFaithful(d, signal, 2400);
  });

  it("Ogg Vorbis: exact frame count and no delay", async () => {
    const signal = makeSignal({ seconds: 1.5, sampleRate: 44100, channels: 2 });
    const d = await decodeAll(await encodeOggVorbis(signal));
    expect(d).toMatchObject({ sampleRate: 44100, frames: 1.5 * 44100 });
    await expectFaithful(d, signal, 1000, 0);
  });

  it("Ogg Opus from the npm encoder: granule position less pre-skip, at 48 kHz", async () => {
    const signal = makeSignal({ seconds: 2, sampleRate: 48000, channels: 2 });
    const opus = await encodeOpus(signal);
    const d = await decodeAll(opus);
    // That encoder writes a pre-skip of 3840 but granules without it, so 80 ms less than encoded comes back
    // and the output starts 3528 samples (3840 less libopus's real 312-sample delay) into the input.
    const preSkip = opus[28 + 10]! | (opus[28 + 11]! << 8);
    expect(d).toMatchObject({ sampleRate: 48000, frames: 96000 - preSkip });
    await expectFaithful(d, signal, 4000);
  });

  it.each(GOOD.filter((g) => !g.lossless && g.format !== "aac").map((g) => [g.file, g] as const))(
    "%s decodes to its exact length, aligned, every channel its own",
    async (_file, f: GoodFixture) => {
      const d = await decodeAll(good(f.file));
      const signal = goodSignal(f);
      expect(d).toMatchObject({ sampleRate: f.signal.sampleRate, frames: signal.channels[0]!.length });
      // Gapless: the container says how much priming and padding to drop, so nothing is shifted. (A pure tone
      // matches itself a period later too, so the lag is only pinned for the music-like signal.)
      await expectFaithful(d, signal, 1000, f.signal.distinct ? undefined : 0);
    },
  );

  it("puts a 6-channel Opus stream's channels in WAV order, matching a WAV of the same input", async () => {
    const f = GOOD.find((g) => g.file === "opus-6ch-48k.opus")!;
    const d = await decodeAll(good(f.file));
    const signal = goodSignal(f);
    expect(d.channels).toHaveLength(6);
    for (let c = 0; c < 6; c++)
      for (let k = 0; k < 6; k++) {
        const { corr } = align(signal.channels[k]!, d.channels[c]!, 50);
        if (c === k) expect(corr, `channel ${c}`).toBeGreaterThan(MIN_CORRELATION);
        else expect(Math.abs(corr), `channel ${c} vs input ${k}`).toBeLessThan(0.1);
      }
  });

  it("ADTS AAC at 22.05 kHz: same duration; the decoder may double the rate (implicit SBR)", async () => {
    const f = GOOD.find((g) => g.format === "aac")!;
    const d = await decodeAll(good(f.file));
    const signal = goodSignal(f);
    // Raw ADTS carries no priming/padding info: 1024 priming samples and the last frame's padding remain.
    expect([22050, 44100]).toContain(d.sampleRate);
    const factor = d.sampleRate / 22050;
    expect(d.frames / d.sampleRate).toBeGreaterThanOrEqual(1);
    expect(d.frames / d.sampleRate).toBeLessThanOrEqual(1 + 2048 / 22050);
    const atInputRate = d.channels[0]!.filter((_, i) => i % factor === 0);
    expect(align(signal.channels[0]!, atInputRate, 2200).corr).toBeGreaterThanOrEqual(MIN_CORRELATION);
  });
});

describe("chunking", () => {
  it.each([
    [
      "WAV",
      () => encodeWav(makeSignal({ seconds: 0.2, sampleRate: 16000, channels: 2 }), "s24"),
      [1, 7, 1000],
    ],
    [
      "FLAC",
      () => encodeFlac(makeSignal({ seconds: 1, sampleRate: 22050, channels: 1 })),
      [997, 4096, 1 << 20],
    ],
    [
      "MP3",
      () => encodeMp3(makeSignal({ seconds: 1, sampleRate: 22050, channels: 1 }), 32),
      [97, 4096, 1 << 20],
    ],
    [
      "Vorbis",
      () => encodeOggVorbis(makeSignal({ seconds: 1, sampleRate: 22050, channels: 1 })),
      [97, 4096, 1 << 20],
    ],
    [
      "Opus",
      () => encodeOpus(makeSignal({ seconds: 1, sampleRate: 48000, channels: 1 })),
      [97, 4096, 1 << 20],
    ],
    ["M4A", () => good("aac-faststart-mono-48k.m4a"), [997, 4096, 1 << 20]],
  ] as const)(
    "%s: the ByteSource's chunk size does not change a single sample",
    async (_what, make, sizes) => {
      const bytes = new Uint8Array(await make());
      const reference = await decodeAll(bytes, { chunkSize: 65536 });
      expect(reference.frames).toBeGreaterThan(0);
      for (const chunkSize of sizes) {
        const d = await decodeAll(bytes, { chunkSize });
        expect(d.frames, `chunk ${chunkSize}`).toBe(reference.frames);
        expect(d.channels, `chunk ${chunkSize}`).toEqual(reference.channels);
      }
    },
  );
});

describe("damage found while decoding", () => {
  const mono = (seconds: number, sampleRate = 22050) =>
    makeSignal({ seconds, sampleRate, channels: 1, seed: 5 });

  it("MP3: noise over frames in the middle", async () => {
    const mp3 = new Uint8Array(await encodeMp3(mono(3), 32));
    const frames = mp3FrameOffsets(mp3);
    for (const [at, n] of [
      [frames[40]! - 50, 200],
      [frames[40]! + 10, 2000],
    ]) {
      const err = await decodeError(damage(mp3, at!, n!, 1));
      expect(err.code).toBe("audio-corrupt");
      expect(err.detail).toMatch(/MP3 stream has data that is not an MPEG audio frame|Corrupt audio/);
    }
  });

  it("MP3: a sample rate change mid-stream", async () => {
    const a = await encodeMp3(makeSignal({ seconds: 1, sampleRate: 44100, channels: 1 }), 64);
    const b = await encodeMp3(makeSignal({ seconds: 1, sampleRate: 48000, channels: 1 }), 64);
    const err = await decodeError(concat(a, b));
    expect(err.code).toBe("audio-corrupt");
    expect(err.detail).toMatch(/48000 Hz/);
  });

  it("MP3: tolerates an ID3v2 tag between frames and an ID3v1 tag at the end", async () => {
    const a = await encodeMp3(mono(1), 32);
    const b = await encodeMp3(mono(1), 32);
    const d = await decodeAll(concat(a, id3Tag(300), b, ascii("TAG"), new Uint8Array(125)));
    expect(d.frames).toBeGreaterThanOrEqual(2 * 22050);
  });

  it("MP3: fewer frames than the Xing header declares is a truncation", async () => {
    const mp3 = await encodeMp3(mono(3), 32);
    const frames = mp3FrameOffsets(mp3);
    const cut = concat(xingFrame(mp3, frames.length), mp3.subarray(0, frames[40]!));
    const err = await decodeError(cut);
    expect(err.code).toBe("audio-truncated");
    expect(err.detail).toMatch(
      /declares \d+ frames \(3\.\d s\) of audio but decodes to \d+ frames \(1\.\d s\)/,
    );
  });

  describe("FLAC", async () => {
    const flac = new Uint8Array(await encodeFlac(mono(2, 11025)));
    const frames = flacFrameOffsets(flac);

    it("one flipped bit inside a frame fails that frame's CRC", async () => {
      const flipped = new Uint8Array(flac);
      flipped[frames[2]! + 200]! ^= 0x10;
      const err = await decodeError(flipped);
      expect(err.code).toBe("audio-corrupt");
      expect(err.detail).toBe(`FLAC frame 2 at byte ${frames[2]} fails its checksum.`);
    });

    it("a frame cut out of the middle is missing", async () => {
      const err = await decodeError(concat(flac.subarray(0, frames[2]!), flac.subarray(frames[3]!)));
      expect(err.code).toBe("audio-corrupt");
      expect(err.detail).toMatch(/FLAC frame 2 is missing/);
    });

    it("noise where a frame header should be", async () => {
      const err = await decodeError(damage(flac, frames[3]!, 8, 2));
      expect(err.code).toBe("audio-corrupt");
    });

    it("a file cut inside a frame is truncated, whether or not STREAMINFO has a total", async () => {
      const cut = flac.subarray(0, frames[3]! + 500);
      expect((await decodeError(cut)).detail).toMatch(/ends inside a frame/);
      expect((await decodeError(setFlacTotalSamples(cut, 22050))).code).toBe("audio-truncated");
    });

    it("fewer samples than STREAMINFO's total is a truncation, even when the cut is between frames", async () => {
      const err = await decodeError(setFlacTotalSamples(flac.subarray(0, frames[2]!), 22050));
      expect(err.code).toBe("audio-truncated");
      expect(err.detail).toMatch(
        /declares 22050 frames \(2\.0 s\) of audio but decodes to \d+ frames \(0\.7 s\)/,
      );
    });

    it("tolerates an ID3v1 tag after the last frame", async () => {
      const d = await decodeAll(concat(flac, ascii("TAG"), new Uint8Array(125)));
      expect(d.frames).toBe(22050);
    });
  });

  describe("Ogg", async () => {
    const vorbis = new Uint8Array(await encodeOggVorbis(mono(3)));
    const opus = new Uint8Array(await encodeOpus(makeSignal({ seconds: 2, sampleRate: 48000, channels: 1 })));

    it.each([
      ["Vorbis", vorbis],
      ["Opus", opus],
    ])("%s: noise in a middle page fails its CRC", async (_what, ogg) => {
      const pages = oggPages(ogg);
      const mid = pages[Math.floor(pages.length / 2)]!;
      const err = await decodeError(damage(ogg, mid.at + mid.length - 30, 20, 3));
      expect(err.code).toBe("audio-corrupt");
      expect(err.detail).toMatch(/fails its checksum/);
    });

    it("Opus: a page cut out of the middle breaks the sequence", async () => {
      const pages = oggPages(opus);
      const mid = pages[Math.floor(pages.length / 2)]!;
      const err = await decodeError(concat(opus.subarray(0, mid.at), opus.subarray(mid.at + mid.length)));
      expect(err.code).toBe("audio-corrupt");
      expect(err.detail).toMatch(/is missing/);
    });

    it("Vorbis: a garbled packet under a valid CRC is caught by the decoder", async () => {
      const pages = oggPages(vorbis);
      const mid = pages[Math.floor(pages.length / 2)]!;
      const bad = damage(vorbis, mid.at + 100, mid.length - 200, 4);
      setOggCrc(bad.subarray(mid.at, mid.at + mid.length));
      const err = await decodeError(bad);
      expect(err.code).toBe("audio-corrupt");
      expect(err.detail).toMatch(/Corrupt audio/);
    });

    it("bytes after the last page that are not a page", async () => {
      expect((await decodeError(concat(vorbis, ascii("garbage at the end of the stream")))).code).toBe(
        "audio-corrupt",
      );
    });

    it("headers and no audio packets decode to nothing: no-audio", async () => {
      const pages = oggPages(vorbis);
      const headers = new Uint8Array(vorbis.subarray(0, pages[1]!.at + pages[1]!.length));
      const err = await decodeError(headers);
      expect(err.code).toBe("no-audio");
    });
  });

  describe("over the duration limit while decoding", () => {
    const signal = mono(1.2, 48000);
    it.each([
      ["WAV", () => encodeWav(signal)],
      ["FLAC", () => encodeFlac(signal)],
      ["MP3", () => encodeMp3(signal, 64)],
      ["Vorbis", () => encodeOggVorbis(signal)],
      ["Opus", () => encodeOpus(signal)],
      ["M4A", () => good("aac-faststart-mono-48k.m4a")],
    ] as const)("%s of about 1 s against a limit of 0.5 s", async (_what, make) => {
      const bytes = new Uint8Array(await make());
      const format = formatOf(bytes);
      // Probe with a generous limit (some formats declare their length), decode with the tight one.
      const probe = await probeAudio(bufferSource(bytes), format, LIMITS);
      const err = await (async () => {
        for await (const _ of decodeAudio(bufferSource(bytes), probe, { maxDurationS: 0.5 })) {
        }
      })().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AudioInputError);
      expect((err as AudioInputError).code).toBe("duration-too-long");
      expect((err as AudioInputError).detail).toMatch(/longer than 0\.5 s/);
    });
  });
});
