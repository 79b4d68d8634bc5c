/**
 * The attack list of issue 6, applied with ffmpeg, sox, lame, opusenc and oggenc (evaluation tools
 * only). Every attack reads a marked 16-bit WAV and returns decoded PCM at whatever rate and channel
 * count the attack leaves.
 */
import { join } from "node:path";
import { type Pcm, readAudio, runTool, writeWav } from "./audio-io.js";

export interface Attack {
  name: string;
  apply(input: string, work: string, pcm: Pcm): Promise<Pcm>;
}

const ff = async (input: string, out: string, args: string[]) => {
  await runTool("ffmpeg", ["-v", "error", "-y", "-i", input, ...args, out]);
  return readAudio(out);
};
const sox = async (input: string, out: string, effects: string[]) => {
  await runTool("sox", [input, out, ...effects]);
  return readAudio(out);
};

let uniform: () => number = Math.random;

/** Makes the noise attacks repeatable: a small xorshift generator seeded with `seed` replaces Math.random. */
export function seedNoise(seed: number): void {
  let x = seed >>> 0 || 1;
  uniform = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

function gaussian(): number {
  const u = 1 - uniform();
  const v = uniform();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function addNoise(pcm: Pcm, snrDb: number): Pcm {
  let e = 0;
  let n = 0;
  for (const c of pcm.channels)
    for (const v of c) {
      e += v * v;
      n++;
    }
  const sigma = Math.sqrt(e / n / 10 ** (snrDb / 10));
  return {
    sampleRate: pcm.sampleRate,
    channels: pcm.channels.map((c) => c.map((v) => v + sigma * gaussian())),
  };
}

/** Start of the cut pieces, chosen off the block grid. */
export const CLIP_START_S = 37.3;
export const EXCERPT_START_S = 71.1;

export const ATTACKS: Attack[] = [
  { name: "none", apply: async (_i, _w, pcm) => pcm },
  ...[128, 64, 32].map((kbps) => ({
    name: `mp3 ${kbps}k`,
    apply: async (input: string, work: string) => {
      const out = join(work, `mp3-${kbps}.mp3`);
      await runTool("lame", ["--quiet", "-b", String(kbps), input, out]);
      return readAudio(out);
    },
  })),
  ...[128, 64].map((kbps) => ({
    name: `aac ${kbps}k`,
    apply: (input: string, work: string) =>
      ff(input, join(work, `aac-${kbps}.m4a`), ["-c:a", "aac", "-b:a", `${kbps}k`]),
  })),
  ...[64, 16].map((kbps) => ({
    name: `opus ${kbps}k`,
    apply: async (input: string, work: string) => {
      const out = join(work, `opus-${kbps}.opus`);
      await runTool("opusenc", ["--quiet", "--bitrate", String(kbps), input, out]);
      return readAudio(out);
    },
  })),
  {
    name: "ogg q2",
    apply: async (input, work) => {
      const out = join(work, "q2.ogg");
      await runTool("oggenc", ["--quiet", "-q", "2", "-o", out, input]);
      return readAudio(out);
    },
  },
  { name: "resample 48k", apply: (i, w) => sox(i, join(w, "r48.wav"), ["rate", "48000"]) },
  { name: "resample 22.05k", apply: (i, w) => sox(i, join(w, "r22.wav"), ["rate", "22050"]) },
  { name: "gain −6 dB", apply: (i, w) => sox(i, join(w, "g6.wav"), ["gain", "-6"]) },
  { name: "noise 20 dB SNR", apply: async (_i, _w, pcm) => addNoise(pcm, 20) },
  { name: "noise 10 dB SNR", apply: async (_i, _w, pcm) => addNoise(pcm, 10) },
  { name: "cut 10 s", apply: (i, w) => ff(i, join(w, "c10.wav"), ["-ss", String(CLIP_START_S), "-t", "10"]) },
  {
    name: "excerpt 15 s",
    apply: (i, w) => ff(i, join(w, "c15.wav"), ["-ss", String(EXCERPT_START_S), "-t", "15"]),
  },
  { name: "low-pass 3 kHz", apply: (i, w) => sox(i, join(w, "lp3.wav"), ["lowpass", "3000"]) },
  { name: "low-pass 8 kHz", apply: (i, w) => sox(i, join(w, "lp8.wav"), ["lowpass", "8000"]) },
  { name: "high-pass 1 kHz", apply: (i, w) => sox(i, join(w, "hp1.wav"), ["highpass", "1000"]) },
  {
    name: "telephone 300–3400 Hz, 8 kHz",
    apply: (i, w) => sox(i, join(w, "tel.wav"), ["sinc", "300-3400", "rate", "8000"]),
  },
  { name: "mono downmix", apply: (i, w) => ff(i, join(w, "mono.wav"), ["-ac", "1"]) },
  { name: "echo 100 ms", apply: (i, w) => ff(i, join(w, "echo.wav"), ["-af", "aecho=0.8:0.7:100:0.4"]) },
  { name: "reverb", apply: (i, w) => sox(i, join(w, "rev.wav"), ["reverb", "50"]) },
  {
    name: "loudnorm + aac 128k",
    apply: (i, w) =>
      ff(i, join(w, "ln.m4a"), [
        "-af",
        "loudnorm=I=-14:TP=-1",
        "-ar",
        "44100",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
      ]),
  },
  ...[1.02, 0.98, 1.05, 0.95].map((f) => ({
    name: `speed ${f > 1 ? "+" : "−"}${Math.round(Math.abs(f - 1) * 100)} %`,
    apply: (i: string, w: string) => sox(i, join(w, `speed-${f}.wav`), ["speed", String(f), "rate", "44100"]),
  })),
  ...[1.02, 0.98].map((f) => ({
    name: `tempo ${f > 1 ? "+" : "−"}2 %`,
    apply: (i: string, w: string) => ff(i, join(w, `tempo-${f}.wav`), ["-af", `atempo=${f}`]),
  })),
  ...[50, -50].map((cents) => ({
    name: `pitch ${cents > 0 ? "+" : "−"}50 cents`,
    apply: (i: string, w: string) => sox(i, join(w, `pitch${cents}.wav`), ["pitch", String(cents)]),
  })),
  {
    name: "10 s clip of mp3 64k",
    apply: async (input, work) => {
      const mp3 = join(work, "clip-mp3.mp3");
      await runTool("lame", ["--quiet", "-b", "64", input, mp3]);
      return ff(mp3, join(work, "clip-mp3.wav"), ["-ss", String(CLIP_START_S), "-t", "10"]);
    },
  },
];

export { writeWav };
