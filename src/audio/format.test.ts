import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  aiff,
  amr,
  ascii,
  caf,
  concat,
  flacInOgg,
  htmlPage,
  id3Tag,
  midi,
  oggPage,
  png,
  randomBytes,
  rf64,
  u32le,
  webm,
  zip,
} from "../../test/fixtures/make-bad.js";
import { GOOD_DIR } from "../../test/fixtures/make-good.js";
import {
  encodeFlac,
  encodeMp3,
  encodeOggVorbis,
  encodeOpus,
  encodeWav,
  makeSignal,
} from "../../test/harness/audio.js";
import {
  adtsFrameLength,
  findMpegFrames,
  id3v2Length,
  parseMpegHeader,
  type SniffResult,
  sniff,
} from "./format.js";

/** What the upload path gives sniff(): the first 64 KiB. */
const head = (b: Uint8Array) => b.subarray(0, 65536);
const good = (file: string) => new Uint8Array(readFileSync(path.join(GOOD_DIR, file)));
const audio = (format: string): SniffResult => ({ kind: "audio", format }) as SniffResult;

describe("sniff: supported formats", async () => {
  const stereo = makeSignal({ seconds: 1 });
  const mono22k = makeSignal({ seconds: 1, sampleRate: 22050, channels: 1 });
  const mp3 = await encodeMp3(stereo);
  const flac = await encodeFlac(stereo);
  const cases: [string, Uint8Array, string][] = [
    ["WAV (16-bit)", encodeWav(stereo), "wav"],
    ["WAV (float)", encodeWav(mono22k, "f32"), "wav"],
    ["MP3 (MPEG-1, no tag)", mp3, "mp3"],
    ["MP3 (MPEG-2, 22.05 kHz mono)", await encodeMp3(mono22k, 32), "mp3"],
    ["MP3 behind a small ID3v2 tag", concat(id3Tag(500), mp3), "mp3"],
    ["MP3 behind an ID3v2 tag longer than 64 KiB (cover art)", concat(id3Tag(70_000), mp3), "mp3"],
    ["MP3 with a LAME Xing/Info frame", good("lame-vbr-44k.mp3"), "mp3"],
    ["FLAC", flac, "flac"],
    ["FLAC behind a small ID3v2 tag", concat(id3Tag(300), flac), "flac"],
    ["FLAC from the reference encoder", good("flac-ref-48k-24bit.flac"), "flac"],
    ["Ogg Vorbis", await encodeOggVorbis(stereo), "ogg-vorbis"],
    ["Ogg Opus", await encodeOpus(makeSignal({ seconds: 1, sampleRate: 48000 })), "ogg-opus"],
    ["Ogg Opus, 6 channels", good("opus-6ch-48k.opus"), "ogg-opus"],
    ["M4A (AAC, moov last)", good("aac-stereo-44k.m4a"), "m4a"],
    ["M4A (AAC, moov first)", good("aac-faststart-mono-48k.m4a"), "m4a"],
    ["M4A (ALAC)", good("alac-mono-44k-16bit.m4a"), "m4a"],
    ["ADTS AAC", good("aac-mono-22k.aac"), "aac"],
    ["ADTS AAC behind an ID3v2 tag", concat(id3Tag(100), good("aac-mono-22k.aac")), "aac"],
  ];
  it.each(cases)("%s", (_what, bytes, format) => {
    expect(sniff(head(bytes))).toEqual(audio(format));
  });

  it("calls audio behind an ID3 tag longer than the head MP3, for the probe to check what follows", () => {
    const tag = id3Tag(70_000);
    expect(id3v2Length(tag)).toBe(70_010);
    expect(sniff(head(concat(tag, randomBytes(1000, 3))))).toEqual(audio("mp3"));
  });

  it("accepts a file of exactly one or two MPEG frames (the run may end at the end of the file)", () => {
    // 44.1 kHz, 128 kb/s, MPEG-1 layer III: 144 × 128000 / 44100 = 417 bytes a frame.
    const frame = new Uint8Array(417);
    frame.set([0xff, 0xfb, 0x90, 0x00]);
    expect(sniff(frame)).toEqual(audio("mp3"));
    expect(sniff(concat(frame, frame))).toEqual(audio("mp3"));
  });
});

describe("sniff: audio Earmark does not read", () => {
  const ogg = (packet: string) => concat(oggPage(ascii(packet), { sequence: 0, flags: 2 }));
  const cases: [string, Uint8Array, RegExp][] = [
    ["AIFF", aiff(), /AIFF/],
    ["AIFF-C", concat(ascii("FORM"), u32le(100), ascii("AIFC"), new Uint8Array(100)), /AIFF/],
    ["MIDI", midi(), /MIDI/],
    ["RF64", rf64(), /RF64/],
    ["BW64", concat(ascii("BW64"), u32le(0xffffffff), ascii("WAVE"), new Uint8Array(64)), /BW64/],
    [
      "RIFX (big-endian WAV)",
      concat(ascii("RIFX"), new Uint8Array(4), ascii("WAVE"), new Uint8Array(64)),
      /RIFX/,
    ],
    ["FLAC in Ogg", flacInOgg(), /FLAC in Ogg/],
    ["Ogg Speex", ogg(`Speex   1.2${"\0".repeat(70)}`), /Speex/],
    ["Ogg Theora", ogg(`\x80theora${"\0".repeat(40)}`), /Theora/],
    ["Ogg with an unknown codec", ogg(`\x01whatever${"\0".repeat(40)}`), /unknown codec/],
    ["Matroska/WebM", webm(), /WebM/],
    ["AMR", amr(), /AMR/],
    ["CAF", caf(), /CAF/],
    ["WavPack", concat(ascii("wvpk"), new Uint8Array(60)), /WavPack/],
    ["Monkey's Audio", concat(ascii("MAC "), new Uint8Array(60)), /APE/],
    ["Sun AU", concat(ascii(".snd"), new Uint8Array(60)), /AU/],
    [
      "ASF/WMA",
      concat(Uint8Array.of(0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11), new Uint8Array(60)),
      /WMA/,
    ],
  ];
  it.each(cases)("%s", (_what, bytes, what) => {
    const found = sniff(head(bytes));
    expect(found.kind).toBe("unsupported");
    expect(found.kind === "unsupported" && found.what).toMatch(what);
  });
});

describe("sniff: not audio", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  const cases: [string, Uint8Array, RegExp][] = [
    ["plain text", text("These are my lyrics.\nLa la la.\n"), /^text$/],
    ["UTF-8 text", text("Grüße, ça va? 日本語の歌詞\n".repeat(10)), /^text$/],
    ["JSON", text('{"title":"My track","tracks":[1,2,3]}'), /^text$/],
    ["HTML", htmlPage(), /^text$/],
    ["PNG", png(), /PNG/],
    ["PDF", text("%PDF-1.7\n%âãÏÓ\n1 0 obj<<>>endobj\n"), /PDF/],
    ["ZIP", zip(), /ZIP/],
    ["JPEG", concat(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0), randomBytes(2000, 5)), /JPEG/],
    ["random bytes", randomBytes(65536, 9), /binary data/],
    ["zeros", new Uint8Array(4096), /binary data/],
    [
      "an ID3 tag followed by noise",
      concat(id3Tag(200), randomBytes(5000, 4)),
      /ID3 tag followed by no audio/,
    ],
    ["RIFF that is AVI", concat(ascii("RIFF"), u32le(100), ascii("AVI LIST"), new Uint8Array(92)), /binary/],
  ];
  it.each(cases)("%s", (_what, bytes, what) => {
    const found = sniff(head(bytes));
    expect(found.kind).toBe("unknown");
    expect(found.kind === "unknown" && found.what).toMatch(what);
  });
});

describe("MPEG sync false positives", () => {
  it("never calls random binary MP3 or AAC (200 seeds × 64 KiB)", () => {
    const hits: number[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const found = sniff(randomBytes(65536, seed * 7919));
      if (found.kind === "audio") hits.push(seed);
    }
    expect(hits).toEqual([]);
  });

  it("needs three consistent frames: one valid header in noise is not MP3", () => {
    const noise = randomBytes(8192, 77);
    noise.set([0xff, 0xfb, 0x90, 0x00], 1000); // a valid MPEG-1 layer III header, 417-byte frame
    expect(findMpegFrames(noise, 0, 3)).toBe(-1);
    expect(sniff(noise).kind).toBe("unknown");
    // …but three in a row, each where the previous frame ends, are.
    for (const at of [1417, 1834]) noise.set([0xff, 0xfb, 0x90, 0x00], at);
    expect(findMpegFrames(noise, 0, 3)).toBe(1000);
  });

  it("does not take runs of 0xFF (JPEG padding, white images) for frame syncs", () => {
    expect(sniff(new Uint8Array(65536).fill(0xff)).kind).toBe("unknown");
    const stripes = Uint8Array.from({ length: 65536 }, (_, i) => (i % 2 ? 0xff : 0xf3));
    expect(sniff(stripes).kind).toBe("unknown");
  });
});

describe("MPEG, ADTS and ID3 header helpers", () => {
  it("parses MPEG frame headers with the frame lengths of ISO/IEC 11172-3 and 13818-3", () => {
    // MPEG-1 layer III, 128 kb/s, 44.1 kHz: 144 × 128000 / 44100 = 417.96 → 417, 418 with padding.
    expect(parseMpegHeader(Uint8Array.of(0xff, 0xfb, 0x90, 0x00), 0)).toEqual({
      version: 1,
      layer: 3,
      bitrateKbps: 128,
      sampleRate: 44100,
      channels: 2,
      frameLength: 417,
      samplesPerFrame: 1152,
    });
    expect(parseMpegHeader(Uint8Array.of(0xff, 0xfb, 0x92, 0xc0), 0)).toMatchObject({
      frameLength: 418,
      channels: 1,
    });
    // MPEG-2 layer III, 32 kb/s, 22.05 kHz: 72 × 32000 / 22050 = 104.5 → 104; 576 samples a frame.
    expect(parseMpegHeader(Uint8Array.of(0xff, 0xf3, 0x40, 0xc0), 0)).toMatchObject({
      version: 2,
      sampleRate: 22050,
      frameLength: 104,
      samplesPerFrame: 576,
      channels: 1,
    });
    // MPEG-2.5 layer III, 8 kb/s, 8 kHz: 72 × 8000 / 8000 = 72.
    expect(parseMpegHeader(Uint8Array.of(0xff, 0xe3, 0x18, 0xc0), 0)).toMatchObject({
      version: 2.5,
      sampleRate: 8000,
      frameLength: 72,
    });
    // Layer I, 32 kb/s, 32 kHz: (12 × 32000 / 32000) × 4 = 48.
    expect(parseMpegHeader(Uint8Array.of(0xff, 0xff, 0x18, 0x00), 0)).toMatchObject({
      layer: 1,
      sampleRate: 32000,
      frameLength: 48,
      samplesPerFrame: 384,
    });
  });

  it("rejects reserved versions, layers, bitrates and rates, and free format", () => {
    for (const h of [
      [0xff, 0xeb, 0x90, 0x00], // version bits 01 (reserved)
      [0xff, 0xf9, 0x90, 0x00], // layer bits 00 (reserved)
      [0xff, 0xfb, 0xf0, 0x00], // bitrate index 15
      [0xff, 0xfb, 0x00, 0x00], // bitrate index 0 (free format)
      [0xff, 0xfb, 0x9c, 0x00], // sample rate index 3
      [0xfe, 0xfb, 0x90, 0x00], // no sync
    ])
      expect(parseMpegHeader(Uint8Array.from(h), 0)).toBeNull();
  });

  it("reads ADTS frame lengths and refuses what is not ADTS", () => {
    const aac = good("aac-mono-22k.aac");
    // The 13-bit frame length spans bytes 3–5 of the header.
    const expected = ((aac[3]! & 3) << 11) | (aac[4]! << 3) | (aac[5]! >> 5);
    expect(adtsFrameLength(aac, 0)).toBe(expected);
    expect(adtsFrameLength(aac, expected)).toBeGreaterThan(7);
    expect(adtsFrameLength(Uint8Array.of(0xff, 0xfb, 0x90, 0x00, 0, 0, 0), 0)).toBe(0); // MP3 layer bits
  });

  it("measures ID3v2 tags from their syncsafe size, with the footer, and refuses bad sizes", () => {
    expect(id3v2Length(id3Tag(1000))).toBe(1010);
    expect(id3v2Length(id3Tag(100, 1 << 20))).toBe(10 + (1 << 20));
    const footer = new Uint8Array(id3Tag(100));
    footer[5] = 0x10;
    expect(id3v2Length(footer)).toBe(120);
    const bad = new Uint8Array(id3Tag(100));
    bad[8] = 0x80; // not syncsafe
    expect(id3v2Length(bad)).toBe(0);
    expect(id3v2Length(ascii("ID3"))).toBe(0);
  });
});
