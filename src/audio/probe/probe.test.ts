import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  ascii,
  concat,
  fmtBody,
  id3Tag,
  oggPages,
  riffChunk,
  setFlacTotalSamples,
  setOggCrc,
  u16le,
  u32le,
  wavOf,
  xingFrame,
} from "../../../test/fixtures/make-bad.js";
import { GOOD, GOOD_DIR } from "../../../test/fixtures/make-good.js";
import {
  encodeFlac,
  encodeMp3,
  encodeOggVorbis,
  encodeOpus,
  encodeWav,
  makeSignal,
  type WavSampleFormat,
} from "../../../test/harness/audio.js";
import { AudioInputError } from "../../errors.js";
import { bufferSource } from "../bytes.js";
import type { AudioFormat, AudioProbe } from "../format.js";
import { probeAudio } from "./index.js";

const LIMITS = { maxDurationS: 3600 };
const probe = (bytes: Uint8Array, format: AudioFormat, limits = LIMITS) =>
  probeAudio(bufferSource(bytes), format, limits);
const good = (file: string) => new Uint8Array(readFileSync(path.join(GOOD_DIR, file)));
const goodFixture = (file: string) => GOOD.find((g) => g.file === file)!;

/** Expects the probe to refuse the bytes with `code`, and returns the detail for further checks. */
async function refusal(
  bytes: Uint8Array,
  format: AudioFormat,
  code: string,
  limits = LIMITS,
): Promise<string> {
  const err = await probe(bytes, format, limits).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(AudioInputError);
  expect((err as AudioInputError).code).toBe(code);
  expect((err as AudioInputError).detail.length).toBeGreaterThan(10);
  return (err as AudioInputError).detail;
}

/** A 16-bit PCM data chunk of `frames` frames of silence. */
const pcm16 = (frames: number, channels = 1) => new Uint8Array(frames * channels * 2);

/** WAVE_FORMAT_EXTENSIBLE fmt body with the given sub-format tag (1 PCM, 3 float, 6 A-law, 7 µ-law). */
function extensibleFmt(f: { sub: number; channels: number; rate: number; bits: number; mask: number }) {
  const align = (f.channels * f.bits) / 8;
  const guidTail = Uint8Array.of(
    0x00,
    0x00,
    0x00,
    0x00,
    0x10,
    0x00,
    0x80,
    0x00,
    0x00,
    0xaa,
    0x00,
    0x38,
    0x9b,
    0x71,
  );
  return concat(
    fmtBody({ tag: 0xfffe, channels: f.channels, rate: f.rate, bits: f.bits, blockAlign: align }),
    u16le(22),
    u16le(f.bits),
    u32le(f.mask),
    u16le(f.sub),
    guidTail,
  );
}

describe("probing WAV", () => {
  const signal = makeSignal({ seconds: 1.5, sampleRate: 22050, channels: 2 });
  const frames = 1.5 * 22050;
  const cases: [WavSampleFormat, number][] = [
    ["u8", 8],
    ["s16", 16],
    ["s24", 24],
    ["s32", 32],
    ["f32", 32],
  ];

  it.each(cases)("reads %s PCM as encoded: rate, channels, bits, exact duration", async (format, bits) => {
    const wav = encodeWav(signal, format);
    const p = await probe(wav, "wav");
    expect(p).toEqual({
      format: "wav",
      codec: `pcm_${format}`,
      sampleRate: 22050,
      channels: 2,
      bitDepth: bits,
      durationS: frames / 22050,
      audioOffset: 44,
      audioBytes: frames * 2 * (bits / 8),
      details: { encoding: format, frames, blockAlign: 2 * (bits / 8) },
    } satisfies AudioProbe);
  });

  it.each([
    [6, "alaw"],
    [7, "mulaw"],
  ] as const)("reads G.711 (format tag %i, 8 bits, with a fact chunk) as %s", async (tag, encoding) => {
    // Real G.711 files carry an 18-byte fmt chunk (cbSize 0) and a fact chunk with the sample count.
    const wav = wavOf([
      riffChunk("fmt ", concat(fmtBody({ tag, channels: 1, rate: 8000, bits: 8 }), u16le(0))),
      riffChunk("fact", u32le(4000)),
      riffChunk("data", new Uint8Array(4000).fill(0xd5)),
    ]);
    const p = await probe(wav, "wav");
    expect(p).toMatchObject({
      codec: `pcm_${encoding}`,
      sampleRate: 8000,
      channels: 1,
      bitDepth: 8,
      durationS: 0.5,
      details: { encoding, frames: 4000 },
    });
  });

  it.each([
    [1, 24, "s24"],
    [3, 32, "f32"],
    [1, 16, "s16"],
    [7, 8, "mulaw"],
  ] as const)(
    "reads WAVE_FORMAT_EXTENSIBLE with sub-format %i, %i bits, 6 channels",
    async (sub, bits, encoding) => {
      const channels = 6;
      const wav = wavOf([
        riffChunk("fmt ", extensibleFmt({ sub, channels, rate: 48000, bits, mask: 0x3f })),
        riffChunk("data", new Uint8Array(480 * channels * (bits / 8))),
      ]);
      const p = await probe(wav, "wav");
      expect(p).toMatchObject({
        sampleRate: 48000,
        channels,
        bitDepth: bits,
        durationS: 0.01,
        details: { encoding },
      });
    },
  );

  it("walks odd-length chunks (with their pad byte) and a LIST chunk before fmt", async () => {
    const info = concat(ascii("INFO"), riffChunk("INAM", ascii("Odd\0\0")));
    const wav = wavOf([
      riffChunk("LIST", info),
      riffChunk("junk", ascii("abc")), // 3 bytes + 1 pad byte
      riffChunk("fmt ", fmtBody({ tag: 1, channels: 1, rate: 16000, bits: 16 })),
      riffChunk("bext", new Uint8Array(7)),
      riffChunk("data", pcm16(16000)),
    ]);
    const p = await probe(wav, "wav");
    const dataAt = 12 + (8 + info.length) + (8 + 4) + (8 + 16) + (8 + 8) + 8;
    expect(p).toMatchObject({ sampleRate: 16000, durationS: 1, audioOffset: dataAt, audioBytes: 32000 });
  });

  it("stops the audio at the data chunk's size when chunks follow it, pad byte included", async () => {
    const wav = wavOf([
      riffChunk("fmt ", fmtBody({ tag: 1, channels: 1, rate: 8000, bits: 8 })),
      riffChunk("data", new Uint8Array(8001)),
      riffChunk("id3 ", id3Tag(100)),
    ]);
    const p = await probe(wav, "wav");
    expect(p).toMatchObject({ audioOffset: 44, audioBytes: 8001, details: { frames: 8001 } });
  });

  it("takes data size 0xFFFFFFFF (and 0 with bytes after it) as 'to the end of the file', as streaming writers leave it", async () => {
    for (const declared of [0xffffffff, 0]) {
      const wav = new Uint8Array(encodeWav(makeSignal({ seconds: 2, sampleRate: 8000, channels: 1 })));
      new DataView(wav.buffer).setUint32(4, 0xffffffff, true);
      new DataView(wav.buffer).setUint32(40, declared, true);
      const p = await probe(wav, "wav");
      expect(p).toMatchObject({ durationS: 2, audioBytes: 32000, details: { frames: 16000 } });
    }
  });

  it("drops a trailing partial frame", async () => {
    const wav = wavOf([
      riffChunk("fmt ", fmtBody({ tag: 1, channels: 2, rate: 8000, bits: 16 })),
      riffChunk("data", new Uint8Array(4 * 100 + 3)),
    ]);
    expect(await probe(wav, "wav")).toMatchObject({ audioBytes: 400, details: { frames: 100 } });
  });

  describe("limits", () => {
    const wavAt = (rate: number, channels = 1) =>
      wavOf([
        riffChunk("fmt ", fmtBody({ tag: 1, channels, rate, bits: 16 })),
        riffChunk("data", pcm16(Math.max(1, Math.floor(rate / 100)), channels)),
      ]);

    it("accepts 8000 Hz and 192000 Hz and 1–8 channels", async () => {
      expect((await probe(wavAt(8000), "wav")).sampleRate).toBe(8000);
      expect((await probe(wavAt(192000), "wav")).sampleRate).toBe(192000);
      expect((await probe(wavAt(8000, 8), "wav")).channels).toBe(8);
    });

    it("refuses 7999 Hz, 192001 Hz, 0 Hz and 10 MHz", async () => {
      for (const rate of [7999, 192001, 0, 10_000_000]) {
        const detail = await refusal(wavAt(rate), "wav", "unsupported-sample-rate");
        expect(detail).toContain(`${rate} Hz`);
      }
    });

    it("refuses 9 channels and 65535 channels (the count is named, not a block-align mismatch)", async () => {
      expect(await refusal(wavAt(8000, 9), "wav", "unsupported-channel-count")).toContain("9 channels");
      const absurd = wavOf([
        riffChunk("fmt ", fmtBody({ tag: 1, channels: 65535, rate: 8000, bits: 16, blockAlign: 0xfffe })),
        riffChunk("data", pcm16(100)),
      ]);
      expect(await refusal(absurd, "wav", "unsupported-channel-count")).toContain("65535 channels");
    });

    it("holds a declared duration to the limit: at the limit passes, one frame over does not", async () => {
      const atLimit = encodeWav({ sampleRate: 8000, channels: [new Float32Array(8000 * 2)] });
      expect((await probe(atLimit, "wav", { maxDurationS: 2 })).durationS).toBe(2);
      const over = encodeWav({ sampleRate: 8000, channels: [new Float32Array(8000 * 2 + 1)] });
      const detail = await refusal(over, "wav", "duration-too-long", { maxDurationS: 2 });
      expect(detail).toMatch(/2\.0 s/);
    });
  });

  describe("refusals", () => {
    it("names each problem with its code", async () => {
      const ok = encodeWav(makeSignal({ seconds: 0.5, sampleRate: 8000, channels: 1 }));
      await refusal(ok.subarray(0, 10), "wav", "audio-truncated");
      expect(await refusal(ok.subarray(0, 2044), "wav", "audio-truncated")).toMatch(/declares 8000 bytes/);
      expect(await refusal(ok.subarray(0, 30), "wav", "audio-truncated")).toMatch(/fmt chunk/);
      await refusal(wavOf([riffChunk("data", pcm16(100))]), "wav", "audio-header-invalid");
      await refusal(
        wavOf([riffChunk("fmt ", fmtBody({ tag: 1, channels: 1, rate: 8000, bits: 16 }))]),
        "wav",
        "no-audio",
      );
      await refusal(
        ok.subarray(0, 44).map((x, i) => (i >= 40 ? 0 : x)),
        "wav",
        "no-audio",
      );
      await refusal(
        wavOf([riffChunk("fmt ", new Uint8Array(12)), riffChunk("data", pcm16(10))]),
        "wav",
        "audio-header-invalid",
      );
      await refusal(
        wavOf([
          riffChunk("fmt ", fmtBody({ tag: 1, channels: 0, rate: 8000, bits: 16 })),
          riffChunk("data", pcm16(10)),
        ]),
        "wav",
        "audio-header-invalid",
      );
      await refusal(
        wavOf([
          riffChunk("fmt ", fmtBody({ tag: 1, channels: 2, rate: 8000, bits: 16, blockAlign: 3 })),
          riffChunk("data", pcm16(10)),
        ]),
        "wav",
        "audio-header-invalid",
      );
      // WAVE_FORMAT_EXTENSIBLE in a 16-byte fmt chunk: no room for the sub-format.
      await refusal(
        wavOf([
          riffChunk("fmt ", fmtBody({ tag: 0xfffe, channels: 1, rate: 8000, bits: 16 })),
          riffChunk("data", pcm16(10)),
        ]),
        "wav",
        "audio-header-invalid",
      );
    });

    it.each([
      [2, 4, /Microsoft ADPCM/],
      [0x11, 4, /IMA ADPCM/],
      [0x55, 0, /MP3/],
      [1, 12, /12-bit integer PCM/],
      [3, 16, /16-bit floating point/],
      [0x1234, 16, /0x1234/],
    ])("refuses format tag %i with %i bits as an unsupported encoding", async (tag, bits, what) => {
      const wav = wavOf([
        riffChunk("fmt ", fmtBody({ tag, channels: 1, rate: 8000, bits, blockAlign: 2 })),
        riffChunk("data", pcm16(100)),
      ]);
      expect(await refusal(wav, "wav", "unsupported-encoding")).toMatch(what);
    });
  });
});

describe("probing MP3", () => {
  it.each([
    [44100, 2, 128, "mp3"],
    [44100, 1, 64, "mp3"],
    [22050, 1, 32, "mp3"],
    [8000, 1, 16, "mp3"],
  ])("reads %i Hz, %i ch, %i kb/s as encoded", async (sampleRate, channels, bitrate) => {
    const mp3 = await encodeMp3(makeSignal({ seconds: 2, sampleRate, channels }), bitrate);
    const p = await probe(mp3, "mp3");
    expect(p).toMatchObject({
      format: "mp3",
      codec: "mp3",
      sampleRate,
      channels,
      bitDepth: null,
      durationS: null,
    });
    expect(p.details.bitrateKbps).toBe(bitrate);
    // Without a frame count the probe guesses from the constant bitrate: bytes × 8 / bitrate.
    expect(p.details.estimatedDurationS).toBeCloseTo((mp3.length * 8) / (bitrate * 1000), 6);
    expect(p.details.estimatedDurationS as number).toBeGreaterThanOrEqual(2);
    expect(p.details.estimatedDurationS as number).toBeLessThan(2.2);
  });

  it("reads the frame count of a Xing header for an exact declared duration", async () => {
    const mp3 = await encodeMp3(makeSignal({ seconds: 1, sampleRate: 22050, channels: 1 }), 32);
    const withXing = concat(xingFrame(mp3, 1000), mp3);
    // MPEG-2 layer III: 576 samples a frame.
    expect((await probe(withXing, "mp3")).durationS).toBeCloseTo((1000 * 576) / 22050, 9);
    const detail = await refusal(concat(xingFrame(mp3, 10_000_000), mp3), "mp3", "duration-too-long");
    expect(detail).toMatch(/72 h/); // 10^7 × 576 / 22050 s = 72.6 h
  });

  it("reads LAME's Info frame: the declared duration covers the encoded audio plus encoder delay and padding", async () => {
    const p = await probe(good("lame-vbr-44k.mp3"), "mp3");
    const seconds = goodFixture("lame-vbr-44k.mp3").signal.seconds;
    expect(p).toMatchObject({ sampleRate: 44100, channels: 2 });
    expect(p.durationS!).toBeGreaterThanOrEqual(seconds);
    expect(p.durationS!).toBeLessThan(seconds + (2 * 1152) / 44100);
  });

  it("refuses a long estimate only when it is far over the limit (the bitrate guess is rough)", async () => {
    const mp3 = await encodeMp3(makeSignal({ seconds: 3, sampleRate: 8000, channels: 1 }), 16);
    await probe(mp3, "mp3", { maxDurationS: 2.5 });
    await refusal(mp3, "mp3", "duration-too-long", { maxDurationS: 1.5 });
  });

  it("finds the frames behind an ID3v2 tag of any length", async () => {
    const mp3 = await encodeMp3(makeSignal({ seconds: 1, channels: 1 }), 64);
    for (const tagBytes of [200, 70_000]) {
      const p = await probe(concat(id3Tag(tagBytes), mp3), "mp3");
      expect(p.audioOffset).toBe(tagBytes + 10);
      expect(p.sampleRate).toBe(44100);
    }
  });

  it("leaves an ID3v1 tag at the end out of the audio", async () => {
    const mp3 = await encodeMp3(makeSignal({ seconds: 1, channels: 1 }), 64);
    const tagged = concat(mp3, ascii("TAG"), new Uint8Array(125));
    expect((await probe(tagged, "mp3")).audioBytes).toBe(mp3.length);
  });

  it("names ID3 tags that run past the end or hide no audio, and data with no frames", async () => {
    expect(await refusal(id3Tag(100, 5000), "mp3", "audio-truncated")).toMatch(/ID3 tag declares 5010 bytes/);
    await refusal(id3Tag(100), "mp3", "no-audio");
    await refusal(concat(id3Tag(100), new Uint8Array(5000)), "mp3", "no-audio");
    await refusal(new Uint8Array(5000), "mp3", "unsupported-media-type");
    await refusal(
      concat(id3Tag(100), await encodeFlac(makeSignal({ seconds: 0.1 }))),
      "mp3",
      "audio-header-invalid",
    );
  });
});

describe("probing FLAC", () => {
  it.each([
    [44100, 2, 16],
    [48000, 1, 24],
    [8000, 1, 16],
    [96000, 2, 24],
  ] as const)("reads %i Hz, %i ch, %i bits as encoded", async (sampleRate, channels, bits) => {
    const flac = await encodeFlac(makeSignal({ seconds: 0.5, sampleRate, channels }), bits);
    const p = await probe(flac, "flac");
    // The npm encoder streams and cannot seek back to fill in STREAMINFO's total: 0 means unknown.
    expect(p).toMatchObject({
      format: "flac",
      codec: "flac",
      sampleRate,
      channels,
      bitDepth: bits,
      durationS: null,
    });
    expect(p.details.totalSamples).toBe(0);
    // With the total filled in, the duration is exact.
    const total = 0.5 * sampleRate;
    expect((await probe(setFlacTotalSamples(flac, total), "flac")).durationS).toBe(0.5);
  });

  it("reads the reference encoder's STREAMINFO and finds the frames after its metadata", async () => {
    const f = goodFixture("flac-ref-48k-24bit.flac");
    const p = await probe(good(f.file), "flac");
    expect(p).toMatchObject({ sampleRate: 48000, channels: 2, bitDepth: 24, durationS: f.signal.seconds });
    expect(p.details.totalSamples).toBe(f.signal.seconds * 48000);
    expect(good(f.file).subarray(p.audioOffset, p.audioOffset + 2)).toEqual(Uint8Array.of(0xff, 0xf8));
  });

  it("skips an ID3v2 tag in front", async () => {
    const flac = await encodeFlac(makeSignal({ seconds: 0.2, channels: 1 }));
    const p = await probe(concat(id3Tag(70_000), flac), "flac");
    expect(p.sampleRate).toBe(44100);
    expect(p.audioOffset).toBeGreaterThan(70_010);
  });

  it("refuses a total sample count over the limit (100 h declared)", async () => {
    const flac = await encodeFlac(makeSignal({ seconds: 0.2, sampleRate: 8000, channels: 1 }));
    const detail = await refusal(setFlacTotalSamples(flac, 100 * 3600 * 8000), "flac", "duration-too-long");
    expect(detail).toMatch(/100 h 0 min/);
  });

  it("names broken headers, cut metadata and missing frames", async () => {
    const flac = new Uint8Array(
      await encodeFlac(makeSignal({ seconds: 0.2, sampleRate: 8000, channels: 1 })),
    );
    await refusal(flac.subarray(0, 30), "flac", "audio-truncated");
    const short = new Uint8Array(flac);
    short[7] = 20;
    await refusal(short, "flac", "audio-header-invalid");
    const rate0 = new Uint8Array(flac);
    rate0.set([0, 0, rate0[20]! & 0x0f], 18);
    await refusal(rate0, "flac", "audio-header-invalid");
    const notFirst = new Uint8Array(flac);
    notFirst[4] = 0x84; // a VORBIS_COMMENT where STREAMINFO must be
    await refusal(notFirst, "flac", "audio-header-invalid");
    const cut = concat(flac.subarray(0, 42), Uint8Array.of(0x86, 0, 0x10, 0), new Uint8Array(100));
    cut[4] = 0;
    await refusal(cut, "flac", "audio-truncated");
    // Metadata and no frames: truncated when STREAMINFO promised samples, no audio when it did not.
    const metaOnly = new Uint8Array(flac.subarray(0, 42));
    metaOnly[4] = 0x80;
    await refusal(metaOnly, "flac", "no-audio");
    await refusal(setFlacTotalSamples(metaOnly, 1000), "flac", "audio-truncated");
  });
});

describe("probing Ogg", () => {
  it.each([
    [44100, 2],
    [22050, 1],
    [48000, 2],
  ])(
    "reads Vorbis at %i Hz, %i ch, with the duration from the last granule position",
    async (sampleRate, channels) => {
      const ogg = await encodeOggVorbis(makeSignal({ seconds: 1.5, sampleRate, channels }));
      const p = await probe(ogg, "ogg-vorbis");
      expect(p).toMatchObject({
        format: "ogg-vorbis",
        codec: "vorbis",
        sampleRate,
        channels,
        bitDepth: null,
      });
      expect(p.durationS).toBe(1.5);
      expect(p.details.endOfStream).toBe(true);
    },
  );

  it("reads Opus at 48 kHz with the duration less the pre-skip", async () => {
    const samples = 96000;
    const opus = await encodeOpus(makeSignal({ seconds: samples / 48000, sampleRate: 48000, channels: 1 }));
    const p = await probe(opus, "ogg-opus");
    // The npm encoder writes 20 ms packets, a granule position that does not include its pre-skip, and the
    // pre-skip in OpusHead bytes 10–11 (page header 27 + 1 segment byte before it).
    const preSkip = opus[28 + 10]! | (opus[28 + 11]! << 8);
    expect(p).toMatchObject({ codec: "opus", sampleRate: 48000, channels: 1, details: { preSkip } });
    expect(p.durationS).toBe((Math.ceil(samples / 960) * 960 - preSkip) / 48000);
  });

  it("reads opusenc's 6-channel file: 6 channels, mapping family 1, exact duration", async () => {
    const f = goodFixture("opus-6ch-48k.opus");
    const p = await probe(good(f.file), "ogg-opus");
    expect(p).toMatchObject({ sampleRate: 48000, channels: 6, durationS: f.signal.seconds });
    expect(p.details.mappingFamily).toBe(1);
  });

  it("names cut, empty and impossible streams", async () => {
    const ogg = await encodeOggVorbis(makeSignal({ seconds: 1, sampleRate: 22050, channels: 1 }));
    const pages = oggPages(ogg);
    const last = pages[pages.length - 1]!;
    await refusal(ogg.subarray(0, last.at + 10), "ogg-vorbis", "audio-truncated");
    await refusal(ogg.subarray(0, 20), "ogg-vorbis", "audio-truncated");
    await refusal(ogg.subarray(0, 40), "ogg-vorbis", "audio-truncated");
    const opus = new Uint8Array(
      await encodeOpus(makeSignal({ seconds: 0.5, sampleRate: 48000, channels: 1 })),
    );
    const first = opus.subarray(0, oggPages(opus)[0]!.length);
    for (const [channels, code] of [
      [0, "audio-header-invalid"],
      [9, "unsupported-channel-count"],
      [255, "unsupported-channel-count"],
    ] as const) {
      first[28 + 9] = channels;
      setOggCrc(first);
      await refusal(opus, "ogg-opus", code);
    }
  });
});

describe("probing M4A and ADTS", () => {
  it.each(GOOD.filter((g) => g.format === "m4a").map((g) => [g.file, g] as const))(
    "reads %s as encoded",
    async (_file, f) => {
      const p = await probe(good(f.file), "m4a");
      expect(p).toMatchObject({
        format: "m4a",
        codec: f.codec,
        sampleRate: f.signal.sampleRate,
        channels: f.signal.channels,
        bitDepth: f.lossless ? 16 : null,
      });
      // The media duration less the encoder's priming (the edit list), within one sample.
      expect(p.durationS!).toBeCloseTo(f.signal.seconds, 4);
    },
  );

  it("reads ADTS: rate and channels from the first frame header, duration unknown until decoded", async () => {
    const f = goodFixture("aac-mono-22k.aac");
    const p = await probe(good(f.file), "aac");
    expect(p).toMatchObject({ format: "aac", codec: "aac", sampleRate: 22050, channels: 1, durationS: null });
    await refusal(new Uint8Array(100), "aac", "audio-header-invalid");
  });

  it("names cut files, missing boxes, overrunning boxes and files with no sound track", async () => {
    const m4a = good("aac-faststart-mono-48k.m4a");
    await refusal(m4a.subarray(0, m4a.length - 100), "m4a", "audio-truncated");
    const noSound = new Uint8Array(m4a);
    const hdlr = findAscii(noSound, "hdlr");
    noSound.set(ascii("vide"), hdlr + 12);
    await refusal(noSound, "m4a", "no-audio");
    const overrun = new Uint8Array(m4a);
    const trak = findAscii(overrun, "trak") - 4;
    new DataView(overrun.buffer).setUint32(trak, new DataView(overrun.buffer).getUint32(trak) + 9999);
    expect(await refusal(overrun, "m4a", "audio-header-invalid")).toMatch(`"trak" box at byte ${trak}`);
    const zeroSize = new Uint8Array(m4a);
    new DataView(zeroSize.buffer).setUint32(0, 4); // ftyp claims 4 bytes: less than its own header
    await refusal(zeroSize, "m4a", "audio-header-invalid");
    await refusal(m4a.subarray(0, findAscii(m4a, "moov") - 4), "m4a", "audio-header-invalid");
  });
});

function findAscii(b: Uint8Array, s: string): number {
  return Buffer.from(b).indexOf(s, 0, "latin1");
}
