/**
 * Builds the AI-likeness corpus offline from Debian packages into an ignored folder (default
 * /tmp/earmark-ai-corpus), and writes the split manifest (file lists, source and output hashes) next to this
 * script. Run it with `nice -n 10 npx tsx detectors/ai-likeness/corpus/build.ts` (≈ 15–25 min on one core).
 *
 * - human speech: asterisk-core-sounds-{en,es,it}-wav, hedgewars-data voice packs (not the processed
 *   "Robot" pack), klettres-data (one speaker per language), fillets-ng-data (English dub);
 * - synthetic speech: espeak-ng, flite (kal diphone; awb, rms, slt clustergen), festival (kal, ked LPC
 *   diphones), codec2 re-synthesis (3200, 1300, 700C) and LPCNet re-synthesis (lpcnet_resynth.c, compiled
 *   here) of the human items — same speaker, same words, only the vocoder differs;
 * - human music (for the speech/music applicability head): drascula-music, planetblupi-music-ogg,
 *   fretsonfire-songs-muldjord.
 *
 * Every item, whatever its class, goes through the same chain so that none of the source's habits tells the
 * class: mono 16 kHz, silence trimmed, clips of one speaker joined into 4–12 s items, a low white noise floor
 * (no exact-zero runs), a random band limit (none / 8 kHz resampling / low-pass), a random codec (none / MP3 /
 * Opus), loudness normalised to a random RMS level, 16-bit with TPDF dither.
 *
 * Splits are by speaker (human speakers, TTS voices; re-synthesised items follow the speaker they came from)
 * and by engine: `festival` and `codec2-700C` appear only in the test split.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = process.argv[2] ?? "/tmp/earmark-ai-corpus";
const RATE = 16000;
const TMP = join(OUT, "tmp");
const CLIPS = join(OUT, "clips");

type Split = "train" | "val" | "test";
type ItemClass = "human" | "synthetic" | "music";
interface Item {
  id: string;
  file: string;
  class: ItemClass;
  engine: string;
  speaker: string;
  split: Split;
  durationS: number;
  chain: string;
  sha256: string;
  sources: { path: string; sha256: string }[];
}

// ---------- deterministic randomness ----------
function rngFor(seed: string): () => number {
  let h = 1779033703 ^ seed.length;
  for (let i = 0; i < seed.length; i++) {
    h = Math.imul(h ^ seed.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function shuffled<T>(xs: readonly T[], rnd: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}
const pick = <T>(xs: readonly T[], rnd: () => number): T => xs[Math.floor(rnd() * xs.length)] as T;

// ---------- audio helpers (sox/ffmpeg do the I/O, the rest is here) ----------
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const fileHashes = new Map<string, string>();
function hashFile(path: string): string {
  let h = fileHashes.get(path);
  if (!h) {
    h = sha256(readFileSync(path));
    fileHashes.set(path, h);
  }
  return h;
}

/** Any audio file → mono float32 at `rate` (sox's high-quality resampler). */
function load(path: string, rate = RATE): Float32Array {
  const buf = execFileSync(
    "sox",
    ["-V1", path, "-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", String(rate), "-"],
    { maxBuffer: 1 << 30 },
  );
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
}
/** A codec's output → mono float32 at RATE (ffmpeg: Debian's sox has no Opus handler). */
function decodeFfmpeg(path: string): Float32Array {
  const out = execFileSync(
    "ffmpeg",
    ["-v", "error", "-i", path, "-f", "f32le", "-ac", "1", "-ar", String(RATE), "pipe:1"],
    {
      maxBuffer: 1 << 30,
    },
  );
  return new Float32Array(out.buffer, out.byteOffset, out.byteLength / 4).slice();
}
function toS16(x: Float32Array): Buffer {
  const b = Buffer.alloc(x.length * 2);
  for (let i = 0; i < x.length; i++)
    b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round((x[i] ?? 0) * 32767))), i * 2);
  return b;
}
function fromS16(b: Buffer): Float32Array {
  const x = new Float32Array(b.length >> 1);
  for (let i = 0; i < x.length; i++) x[i] = b.readInt16LE(i * 2) / 32768;
  return x;
}
function rawF32(x: Float32Array): Buffer {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}
/** Runs `ffmpeg` (or sox) on raw float input, returns raw float output at RATE. */
function ffmpegF32(x: Float32Array, args: string[]): Float32Array {
  const out = execFileSync(
    "ffmpeg",
    ["-v", "error", "-f", "f32le", "-ar", String(RATE), "-ac", "1", "-i", "pipe:0", ...args],
    { input: rawF32(x), maxBuffer: 1 << 30 },
  );
  return new Float32Array(out.buffer, out.byteOffset, out.byteLength / 4).slice();
}

function rms(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += (x[i] ?? 0) ** 2;
  return Math.sqrt(s / Math.max(1, to - from));
}

/** Trims leading/trailing silence: 10 ms frames 40 dB under the loudest frame (or under −55 dBFS), 50 ms kept. */
function trim(x: Float32Array): Float32Array {
  const f = RATE / 100;
  const n = Math.floor(x.length / f);
  if (n === 0) return x.subarray(0, 0);
  const levels = Array.from({ length: n }, (_, i) => rms(x, i * f, (i + 1) * f));
  const peak = Math.max(...levels);
  const thr = Math.max(peak * 0.01, 10 ** (-55 / 20));
  let a = 0;
  while (a < n && (levels[a] ?? 0) < thr) a++;
  let b = n - 1;
  while (b > a && (levels[b] ?? 0) < thr) b--;
  const margin = 5;
  return x.slice(Math.max(0, (a - margin) * f), Math.min(x.length, (b + 1 + margin) * f));
}
function normalisePeak(x: Float32Array, to = 0.5): Float32Array {
  let p = 0;
  for (const v of x) p = Math.max(p, Math.abs(v));
  if (p > 0) for (let i = 0; i < x.length; i++) x[i] = (x[i] ?? 0) * (to / p);
  return x;
}

/** Joins trimmed clips with short gaps (filled by the noise floor later) into items of 4–12 s. */
function joinIntoItems(clips: { pcm: Float32Array; path: string }[], rnd: () => number) {
  const items: { pcm: Float32Array; paths: string[] }[] = [];
  let cur: Float32Array[] = [];
  let paths: string[] = [];
  let len = 0;
  const flush = () => {
    if (len >= 2 * RATE) {
      const out = new Float32Array(len);
      let o = 0;
      for (const c of cur) {
        out.set(c, o);
        o += c.length;
      }
      items.push({ pcm: out, paths });
    }
    cur = [];
    paths = [];
    len = 0;
  };
  for (const c of clips) {
    const gap = new Float32Array(Math.round(RATE * (0.15 + 0.25 * rnd())));
    const pcm = c.pcm.length > 12 * RATE ? c.pcm.subarray(0, 12 * RATE) : c.pcm;
    if (len + pcm.length > 12 * RATE) flush();
    if (len > 0) {
      cur.push(gap);
      len += gap.length;
    }
    cur.push(pcm);
    paths.push(c.path);
    len += pcm.length;
    if (len >= 4 * RATE) flush();
  }
  flush();
  return items;
}

/** The same random chain for every class: noise floor, band limit, codec, level, 16-bit with dither. */
function degrade(x: Float32Array, rnd: () => number): { pcm: Float32Array; chain: string } {
  const y = normalisePeak(x.slice(), 0.5);
  const parts: string[] = [];
  const noiseDb = -75 + 20 * rnd();
  const g = 10 ** (noiseDb / 20) * Math.sqrt(3);
  for (let i = 0; i < y.length; i++) y[i] = (y[i] ?? 0) + g * (2 * rnd() - 1);
  parts.push(`noise${Math.round(noiseDb)}dB`);
  let z = y;
  const band = rnd();
  if (band < 0.4) {
    z = ffmpegF32(z, [
      "-af",
      "aresample=8000:resampler=soxr,aresample=16000:resampler=soxr",
      "-f",
      "f32le",
      "pipe:1",
    ]);
    parts.push("narrowband8k");
  } else if (band < 0.6) {
    const fc = Math.round(4500 + 2500 * rnd());
    z = ffmpegF32(z, ["-af", `lowpass=f=${fc}:poles=2,lowpass=f=${fc}:poles=2`, "-f", "f32le", "pipe:1"]);
    parts.push(`lowpass${fc}`);
  }
  const codec = rnd();
  const tmp = join(TMP, `codec-${process.pid}`);
  if (codec < 0.3) {
    const br = pick([32, 48, 64, 96, 128], rnd);
    execFileSync(
      "ffmpeg",
      [
        "-v",
        "error",
        "-y",
        "-f",
        "f32le",
        "-ar",
        String(RATE),
        "-ac",
        "1",
        "-i",
        "pipe:0",
        "-c:a",
        "libmp3lame",
        "-b:a",
        `${br}k`,
        `${tmp}.mp3`,
      ],
      { input: rawF32(z) },
    );
    z = decodeFfmpeg(`${tmp}.mp3`);
    parts.push(`mp3-${br}k`);
  } else if (codec < 0.45) {
    const br = pick([16, 24, 32, 48], rnd);
    execFileSync(
      "ffmpeg",
      [
        "-v",
        "error",
        "-y",
        "-f",
        "f32le",
        "-ar",
        String(RATE),
        "-ac",
        "1",
        "-i",
        "pipe:0",
        "-c:a",
        "libopus",
        "-b:a",
        `${br}k`,
        `${tmp}.opus`,
      ],
      { input: rawF32(z) },
    );
    z = decodeFfmpeg(`${tmp}.opus`);
    parts.push(`opus-${br}k`);
  }
  const targetDb = -28 + 10 * rnd();
  const r = rms(z);
  let gain = r > 0 ? 10 ** (targetDb / 20) / r : 1;
  let p = 0;
  for (const v of z) p = Math.max(p, Math.abs(v));
  if (p * gain > 0.97) gain = 0.97 / p;
  for (let i = 0; i < z.length; i++) z[i] = (z[i] ?? 0) * gain + (rnd() - rnd()) / 32768;
  parts.push(`rms${Math.round(targetDb)}dB`);
  return { pcm: z, chain: parts.join(",") };
}

function wavBytes(x: Float32Array): Buffer {
  const data = toS16(x);
  const h = Buffer.alloc(44);
  h.write("RIFF", 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write("WAVEfmt ", 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

const items: Item[] = [];
function emit(
  pcm: Float32Array,
  meta: { class: ItemClass; engine: string; speaker: string; split: Split; sources: string[] },
): void {
  const id =
    `${meta.class}-${meta.engine}-${meta.speaker}-${items.filter((i) => i.engine === meta.engine && i.speaker === meta.speaker).length}`.replace(
      /[^A-Za-z0-9_.-]/g,
      "_",
    );
  const { pcm: out, chain } = degrade(pcm, rngFor(id));
  const bytes = wavBytes(out);
  const rel = join(meta.class, meta.engine, `${id}.wav`);
  mkdirSync(join(CLIPS, meta.class, meta.engine), { recursive: true });
  writeFileSync(join(CLIPS, rel), bytes);
  items.push({
    id,
    file: rel,
    class: meta.class,
    engine: meta.engine,
    speaker: meta.speaker,
    split: meta.split,
    durationS: Math.round((out.length / RATE) * 100) / 100,
    chain,
    sha256: sha256(bytes),
    sources: meta.sources.map((p) => ({ path: p, sha256: existsSync(p) ? hashFile(p) : "generated" })),
  });
}

function dpkgFiles(pkg: string, re: RegExp): string[] {
  return execFileSync("dpkg", ["-L", pkg], { encoding: "utf8" })
    .split("\n")
    .filter((p) => re.test(p))
    .sort();
}

// ---------- splits ----------
const HUMAN_SPLIT: Record<string, Split> = {
  "asterisk-en": "train",
  "asterisk-es": "train",
  "asterisk-it": "test",
  "hedgewars-British": "train",
  "hedgewars-Classic": "train",
  "hedgewars-Default": "train",
  "hedgewars-Default_pl": "train",
  "hedgewars-HillBilly": "train",
  "hedgewars-Mobster": "train",
  "hedgewars-Pirate": "train",
  "hedgewars-Default_ru": "val",
  "hedgewars-Singer": "val",
  "hedgewars-Default_es": "test",
  "hedgewars-Default_uk": "test",
  "hedgewars-Russian": "test",
  "hedgewars-Russian_pl": "test",
  "hedgewars-Surfer": "test",
  "fillets-en": "val",
};
const KLETTRES_SPLIT: Record<string, Split> = {
  cs: "train",
  da: "train",
  de: "train",
  en: "train",
  es: "train",
  fr: "train",
  it: "train",
  ml: "train",
  id: "train",
  ru: "train",
  he: "val",
  hu: "val",
  lt: "val",
  pt_BR: "val",
  en_GB: "test",
  nl: "test",
  nb: "test",
  nds: "test",
  ar: "test",
  nn: "test",
  uk: "test",
  tn: "test",
};

// ---------- text for TTS: our own sentences, generated from a small grammar ----------
const EN = {
  who: [
    "the driver",
    "my neighbour",
    "a young teacher",
    "the old fisherman",
    "our manager",
    "the children",
    "a tired nurse",
    "the baker",
    "your sister",
    "the new pilot",
    "a quiet student",
    "the mayor",
  ],
  did: [
    "carried",
    "painted",
    "forgot",
    "found",
    "repaired",
    "sold",
    "ordered",
    "cleaned",
    "borrowed",
    "described",
    "noticed",
    "opened",
  ],
  what: [
    "a red bicycle",
    "the kitchen window",
    "three wooden chairs",
    "an empty bottle",
    "the blue umbrella",
    "a long letter",
    "the broken clock",
    "two warm blankets",
    "a box of apples",
    "the garden gate",
    "a paper map",
    "the heavy suitcase",
  ],
  when: [
    "this morning",
    "last Tuesday",
    "before lunch",
    "after the storm",
    "in early spring",
    "at midnight",
    "on the way home",
    "during the holidays",
    "yesterday evening",
    "a week ago",
  ],
  where: [
    "near the station",
    "behind the library",
    "at the market",
    "on the third floor",
    "by the river",
    "in the village",
    "at the harbour",
    "under the bridge",
  ],
  q: ["Did you see", "Have you heard about", "Who told you about", "Why did they move", "Where did she put"],
};
const OTHER: Record<string, string[]> = {
  de: [
    "Der Zug fährt um sieben Uhr ab.",
    "Meine Schwester wohnt in einer kleinen Stadt.",
    "Heute regnet es den ganzen Tag.",
    "Wir kaufen Brot und Käse auf dem Markt.",
    "Das Fenster in der Küche ist offen.",
    "Er hat den Schlüssel im Auto vergessen.",
    "Am Wochenende gehen wir in den Wald.",
    "Die Kinder spielen im Garten hinter dem Haus.",
    "Kannst du mir bitte das Buch geben?",
    "Der alte Hund schläft neben dem Ofen.",
  ],
  es: [
    "El tren sale a las siete de la mañana.",
    "Mi hermana vive en un pueblo pequeño.",
    "Hoy llueve durante todo el día.",
    "Compramos pan y queso en el mercado.",
    "La ventana de la cocina está abierta.",
    "Olvidó las llaves dentro del coche.",
    "El fin de semana vamos al bosque.",
    "Los niños juegan en el jardín detrás de la casa.",
    "¿Me puedes dar el libro, por favor?",
    "El perro viejo duerme junto a la estufa.",
  ],
  it: [
    "Il treno parte alle sette del mattino.",
    "Mia sorella abita in un piccolo paese.",
    "Oggi piove per tutto il giorno.",
    "Compriamo pane e formaggio al mercato.",
    "La finestra della cucina è aperta.",
    "Ha dimenticato le chiavi in macchina.",
    "Nel fine settimana andiamo nel bosco.",
    "I bambini giocano in giardino dietro la casa.",
    "Mi puoi dare il libro, per favore?",
    "Il vecchio cane dorme vicino alla stufa.",
  ],
  fr: [
    "Le train part à sept heures du matin.",
    "Ma sœur habite dans un petit village.",
    "Aujourd'hui il pleut toute la journée.",
    "Nous achetons du pain et du fromage au marché.",
    "La fenêtre de la cuisine est ouverte.",
    "Il a oublié les clés dans la voiture.",
    "Le week-end nous allons dans la forêt.",
    "Les enfants jouent dans le jardin derrière la maison.",
    "Peux-tu me donner le livre, s'il te plaît?",
    "Le vieux chien dort près du poêle.",
  ],
};
function englishSentence(rnd: () => number): string {
  const E = EN;
  switch (Math.floor(rnd() * 3)) {
    case 0:
      return `${cap(pick(E.who, rnd))} ${pick(E.did, rnd)} ${pick(E.what, rnd)} ${pick(E.where, rnd)} ${pick(E.when, rnd)}.`;
    case 1:
      return `${pick(E.q, rnd)} ${pick(E.what, rnd)} ${pick(E.where, rnd)}?`;
    default:
      return `${cap(pick(E.when, rnd))}, ${pick(E.who, rnd)} ${pick(E.did, rnd)} ${pick(E.what, rnd)}, and ${pick(E.who, rnd)} ${pick(E.did, rnd)} ${pick(E.what, rnd)}.`;
  }
}
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** Test texts come from another domain: sentences of Debian's /usr/share/common-licenses (base-files). */
function licenceSentences(): string[] {
  const text = ["GPL-3", "Apache-2.0", "MPL-2.0"]
    .map((f) => readFileSync(`/usr/share/common-licenses/${f}`, "utf8"))
    .join(" ");
  return text
    .replace(/\s+/g, " ")
    .split(/(?<=[.;:])\s+/)
    .map((s) => s.trim())
    .filter(
      (s) => /^[A-Z][A-Za-z ,'-]+[.;:]$/.test(s) && s.split(" ").length >= 6 && s.split(" ").length <= 22,
    );
}

interface Voice {
  engine: string;
  voice: string;
  split: Split;
  lang: string;
}
const VOICES: Voice[] = [
  { engine: "espeak-ng", voice: "en-us", split: "train", lang: "en" },
  { engine: "espeak-ng", voice: "en-us+f3", split: "train", lang: "en" },
  { engine: "espeak-ng", voice: "de+m3", split: "train", lang: "de" },
  { engine: "espeak-ng", voice: "es", split: "train", lang: "es" },
  { engine: "espeak-ng", voice: "it+f2", split: "train", lang: "it" },
  { engine: "espeak-ng", voice: "en+m7", split: "val", lang: "en" },
  { engine: "espeak-ng", voice: "fr+f4", split: "val", lang: "fr" },
  { engine: "espeak-ng", voice: "en-gb-scotland+m2", split: "test", lang: "en" },
  { engine: "espeak-ng", voice: "es+f1", split: "test", lang: "es" },
  { engine: "espeak-ng", voice: "it+m5", split: "test", lang: "it" },
  { engine: "flite-kal", voice: "kal", split: "train", lang: "en" },
  { engine: "flite-kal", voice: "kal16", split: "val", lang: "en" },
  { engine: "flite-cg", voice: "awb", split: "train", lang: "en" },
  { engine: "flite-cg", voice: "rms", split: "val", lang: "en" },
  { engine: "flite-cg", voice: "slt", split: "test", lang: "en" },
  { engine: "festival", voice: "kal_diphone", split: "test", lang: "en" },
  { engine: "festival", voice: "ked_diphone", split: "test", lang: "en" },
];
const PER_VOICE = 32;

function tts(v: Voice, text: string, out: string): void {
  if (v.engine === "espeak-ng") {
    execFileSync("espeak-ng", ["-v", v.voice, "-s", String(150), "-w", out, text]);
  } else if (v.engine.startsWith("flite")) {
    execFileSync("flite", ["-voice", v.voice, "-t", text, "-o", out]);
  } else {
    execFileSync("text2wave", ["-eval", `(voice_${v.voice})`, "-o", out], { input: text });
  }
}

function resynth(x: Float32Array, engine: string): Float32Array {
  if (engine === "lpcnet") {
    const out = execFileSync(join(OUT, "bin", "lpcnet_resynth"), { input: toS16(x), maxBuffer: 1 << 30 });
    return fromS16(out);
  }
  const mode = engine.replace("codec2-", "");
  const raw8 = execFileSync(
    "sox",
    [
      "-V1",
      "-t",
      "raw",
      "-e",
      "floating-point",
      "-b",
      "32",
      "-c",
      "1",
      "-r",
      String(RATE),
      "-",
      "-t",
      "raw",
      "-e",
      "signed",
      "-b",
      "16",
      "-r",
      "8000",
      "-",
    ],
    { input: rawF32(x), maxBuffer: 1 << 30 },
  );
  const bits = execFileSync("c2enc", [mode, "-", "-"], { input: raw8, maxBuffer: 1 << 30 });
  const dec = execFileSync("c2dec", [mode, "-", "-"], { input: bits, maxBuffer: 1 << 30 });
  const up = execFileSync(
    "sox",
    [
      "-V1",
      "-t",
      "raw",
      "-e",
      "signed",
      "-b",
      "16",
      "-c",
      "1",
      "-r",
      "8000",
      "-",
      "-t",
      "raw",
      "-e",
      "floating-point",
      "-b",
      "32",
      "-r",
      String(RATE),
      "-",
    ],
    { input: dec, maxBuffer: 1 << 30 },
  );
  return new Float32Array(up.buffer, up.byteOffset, up.byteLength / 4).slice();
}

// ---------- main ----------
const started = Date.now();
const log = (msg: string) =>
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
rmSync(CLIPS, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });
mkdirSync(join(OUT, "bin"), { recursive: true });
execFileSync("gcc", [
  "-O2",
  "-o",
  join(OUT, "bin", "lpcnet_resynth"),
  join(HERE, "lpcnet_resynth.c"),
  "-lcodec2",
]);

// Human speech sources, by speaker.
const humanSources = new Map<string, string[]>();
const rndSel = rngFor("select");
for (const lang of ["en", "es", "it"]) {
  const files = dpkgFiles(`asterisk-core-sounds-${lang}-wav`, /\.wav$/);
  humanSources.set(`asterisk-${lang}`, shuffled(files, rndSel).slice(0, 170));
}
for (const f of dpkgFiles("hedgewars-data", /Sounds\/voices\/[^/]+\/[^/]+\.(ogg|wav)$/)) {
  const pack = f.split("/").at(-2) as string;
  if (pack === "Robot") continue;
  const key = `hedgewars-${pack}`;
  humanSources.set(key, [...(humanSources.get(key) ?? []), f]);
}
humanSources.set(
  "fillets-en",
  dpkgFiles("fillets-ng-data", /\/en\/[a-z0-9]+-[a-z0-9]+-[^/]+\.ogg$/).filter((f) => !f.includes("/linux/")),
);
for (const lang of Object.keys(KLETTRES_SPLIT)) {
  const dir = `/usr/share/klettres/${lang}`;
  if (!existsSync(dir)) continue;
  const files = dpkgFiles("klettres-data", new RegExp(`/klettres/${lang}/(alpha|syllab)/[^/]+\\.(ogg|wav)$`));
  humanSources.set(`klettres-${lang}`, shuffled(files, rndSel).slice(0, 60));
}

const engineOf = rngFor("resynth");
let humanItems = 0;
for (const [speaker, files] of humanSources) {
  const split = HUMAN_SPLIT[speaker] ?? KLETTRES_SPLIT[speaker.replace("klettres-", "")];
  if (!split || files.length === 0) continue;
  const clips: { pcm: Float32Array; path: string }[] = [];
  for (const path of files) {
    const pcm = trim(load(path));
    if (pcm.length >= 0.3 * RATE) clips.push({ pcm, path });
  }
  const joined = joinIntoItems(clips, rngFor(`join-${speaker}`));
  for (const it of joined) {
    const meta = { speaker, split, sources: it.paths };
    emit(it.pcm, { ...meta, class: "human", engine: "human" });
    humanItems++;
    // Re-synthesis of the same item: LPCNet for about a third, a codec2 mode for about half.
    const r = engineOf();
    const codecModes =
      split === "test" ? ["codec2-3200", "codec2-1300", "codec2-700C"] : ["codec2-3200", "codec2-1300"];
    if (r < 0.35) emit(resynth(it.pcm, "lpcnet"), { ...meta, class: "synthetic", engine: "lpcnet" });
    else if (r < 0.85) {
      const engine = pick(codecModes, engineOf);
      emit(resynth(it.pcm, engine), { ...meta, class: "synthetic", engine });
    }
  }
  log(
    `human ${speaker} (${split}): ${files.length} files → ${joined.length} items; ${items.length} items so far`,
  );
}

// TTS.
const licence = shuffled(licenceSentences(), rngFor("licence"));
let licenceAt = 0;
for (const v of VOICES) {
  const rnd = rngFor(`tts-${v.voice}-${v.engine}`);
  const clips: { pcm: Float32Array; path: string }[] = [];
  for (let i = 0; i < PER_VOICE; i++) {
    let text: string;
    if (v.lang === "en")
      text = v.split === "test" ? (licence[licenceAt++ % licence.length] as string) : englishSentence(rnd);
    else text = `${pick(OTHER[v.lang] ?? [], rnd)} ${pick(OTHER[v.lang] ?? [], rnd)}`;
    const out = join(TMP, "tts.wav");
    tts(v, text, out);
    const pcm = trim(load(out));
    if (pcm.length >= 0.3 * RATE) clips.push({ pcm, path: `${v.engine}:${v.voice}:${text}` });
  }
  const joined = joinIntoItems(clips, rngFor(`join-${v.voice}`));
  for (const it of joined)
    emit(it.pcm, {
      class: "synthetic",
      engine: v.engine,
      speaker: `${v.engine}-${v.voice}`,
      split: v.split,
      sources: it.paths,
    });
  log(`tts ${v.engine} ${v.voice} (${v.split}): ${joined.length} items; ${items.length} items so far`);
}

// Human music, for the speech/music applicability head: 8 s excerpts, split by package (test: unseen package).
const MUSIC: { pkg: string; split: (i: number) => Split }[] = [
  { pkg: "drascula-music", split: (i) => (i % 5 === 4 ? "val" : "train") },
  { pkg: "planetblupi-music-ogg", split: (i) => (i % 4 === 3 ? "val" : "train") },
  { pkg: "fretsonfire-songs-muldjord", split: () => "test" },
];
for (const m of MUSIC) {
  const seen = new Set<string>();
  const files = dpkgFiles(m.pkg, /\.(ogg|mp3|wav|flac)$/).filter((f) => {
    const h = hashFile(f);
    if (seen.has(h)) return false; // drascula-music ships exact duplicates
    seen.add(h);
    return true;
  });
  files.forEach((f, i) => {
    const pcm = load(f);
    const n = Math.min(3, Math.floor(pcm.length / (8 * RATE)));
    for (let k = 0; k < n; k++) {
      const start = Math.floor(((k + 0.5) / n) * (pcm.length - 8 * RATE));
      emit(pcm.slice(start, start + 8 * RATE), {
        class: "music",
        engine: "human-music",
        speaker: `${m.pkg}`,
        split: m.split(i),
        sources: [f],
      });
    }
  });
  log(`music ${m.pkg}: ${files.length} tracks; ${items.length} items so far`);
}

const summary: Record<string, { items: number; seconds: number }> = {};
for (const it of items) {
  const k = `${it.split}/${it.class}/${it.engine}`;
  const s = summary[k] ?? { items: 0, seconds: 0 };
  summary[k] = s;
  s.items++;
  s.seconds = Math.round(s.seconds + it.durationS);
}
const manifest = {
  builtBy: "detectors/ai-likeness/corpus/build.ts",
  sampleRate: RATE,
  testOnlyEngines: ["festival", "codec2-700C"],
  summary,
  items,
};
writeFileSync(join(OUT, "manifest.json"), JSON.stringify(manifest, null, 1));
writeFileSync(join(HERE, "..", "splits.json"), `${JSON.stringify(manifest, null, 1)}\n`);
log(`done: ${items.length} items (${humanItems} human speech) in ${join(OUT, "clips")}`);
