/**
 * Builds the fingerprint evaluation corpus from freely licensed music shipped in Debian packages.
 *
 *   npx tsx bench/fingerprint/corpus.ts [--out DIR] [--max-refs N] [--max-seconds S] [--jobs 1|2]
 *
 * Output (default /tmp/earmark-fp-corpus, refused inside a git work tree):
 *   audio/<id>.wav             references, non-members and hard negatives (44.1 kHz 16-bit stereo)
 *   variants/<transform>/<id>.wav  one transformed query per reference per transform (mono)
 *   manifest.json              everything the harness needs; see `Manifest` below
 *
 * Every step is cached on its output file, so a rerun only does what is missing.
 * See README.md beside this file for the apt packages and licences.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, realpath, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { compareFingerprints, fpcalcRaw } from "./fpcalc.js";
import {
  CliError,
  exists,
  makeVariants,
  pool,
  probeDuration,
  requireTools,
  run,
  runChecked,
  sha256File,
  TRANSFORMS,
  type VariantRecord,
} from "./transforms.js";

export type Role = "reference" | "non-member" | "hard-negative-index" | "hard-negative-query";
export type HardNegativeKind = "soundfont" | "stem" | "loop";

export interface ManifestEntry {
  id: string;
  role: Role;
  /** Relative to the corpus directory. */
  file: string;
  package: string;
  /** Original path inside the package (or inside its .pk3 archive, after "!"). */
  source: string;
  licence: string;
  durationSec: number;
  sha256: string;
  note?: string;
}

export interface HardNegativePair {
  id: string;
  kind: HardNegativeKind;
  indexId: string;
  queryId: string;
  description: string;
}

export interface Manifest {
  version: 1;
  createdAt: string;
  settings: { maxSeconds: number; maxRefs: number; minSeconds: number };
  packages: { name: string; version: string | null; status: "installed" | "missing" }[];
  entries: ManifestEntry[];
  pairs: HardNegativePair[];
  transforms: { name: string; description: string }[];
  variants: (VariantRecord & { sha256: string })[];
  notes: string[];
}

const MUSIC_PACKAGES: Record<string, string> = {
  "nexuiz-music": "GPL-2+",
  "drascula-music": "Drascula licence (freeware, redistributable; see debian/copyright)",
  "ufoai-music": "per file: CC-BY-3.0 / CC-BY-SA-3.0 / GPL-2 / public domain (debian/copyright)",
  "planetblupi-music-ogg": "GPL-3+",
  "singularity-music": "CC-BY-SA-3.0 (Creative Commons Attribution-ShareAlike)",
  "fretsonfire-songs-muldjord": "CC-BY-SA-3.0",
  "fretsonfire-songs-sectoid": "GPL",
  "hyperrogue-music": "CC-BY-SA-3.0",
  "asc-music": "GPL-2+",
  "openttd-openmsx": "GPL-2.0",
};
const SOUNDFONTS = {
  fluid: { pkg: "fluid-soundfont-gm", path: "/usr/share/sounds/sf2/FluidR3_GM.sf2", licence: "MIT" },
  timgm: { pkg: "timgm6mb-soundfont", path: "/usr/share/sounds/sf2/TimGM6mb.sf2", licence: "GPL-2" },
};

function ufoaiLicence(name: string): string {
  if (/^(David|azrael1|karlmacklin|van_)/.test(name)) return "CC-BY-3.0";
  if (/^(Crystan|Marine|TheThings|returnjourney|dynamictest)/.test(name)) return "CC-BY-SA-3.0";
  if (/^(AlexFightmare|Psymong|dawn|dbsea|space|ufo[12])/.test(name)) return "GPL-2";
  return "see debian/copyright of ufoai-music";
}

/** A piece of audio before it has been assigned a role. */
interface Candidate {
  id: string;
  pkg: string;
  source: string;
  licence: string;
  /** Decoded, cut, normalised WAV (absolute path) once `decode` has run. */
  wav: string;
  kind: "recording" | "midi" | "fof";
  /** For MIDI: the TimGM6mb rendering; for Frets on Fire: the guitar stem. */
  partnerWav?: string;
  partnerSource?: string;
  durationSec: number;
  pcmSha?: string;
}

const log = (msg: string): void => {
  process.stderr.write(`[corpus] ${msg}\n`);
};

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/\.[a-z0-9]+$/, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

function packageVersion(pkg: string): string | null {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const r = spawnSync("dpkg-query", ["-W", "-f=${Status}\t${Version}", pkg], { encoding: "utf8" });
  if (r.status !== 0) return null;
  const [status, version] = r.stdout.split("\t");
  return status?.endsWith("installed") && !status.includes("not-installed") ? (version ?? "") : null;
}

function packageFiles(pkg: string): string[] {
  const r = spawnSync("dpkg", ["-L", pkg], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.split("\n").filter((l) => l.length > 0) : [];
}

function gitTopLevel(dir: string): string | null {
  const r = spawnSync("git", ["-C", dir, "rev-parse", "--show-toplevel"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

const FF = ["-hide_banner", "-nostdin", "-v", "error", "-y", "-threads", "1"];
const WAV_STEREO_44K = ["-ac", "2", "-ar", "44100", "-c:a", "pcm_s16le"];

/** Decodes `input` to 44.1 kHz stereo WAV, keeping [0, maxSeconds]. Falls back to oggdec for Vorbis files ffmpeg rejects. */
async function decodeTo(
  input: string,
  output: string,
  maxSeconds: number,
  scratchDir: string,
): Promise<void> {
  if (await exists(output)) return;
  const part = `${output}.part.wav`;
  const first = await run("ffmpeg", [...FF, "-i", input, "-t", String(maxSeconds), ...WAV_STEREO_44K, part]);
  if (first.code !== 0) {
    // Some hyperrogue-music files have Vorbis headers ffmpeg 5.1 refuses; libvorbis (oggdec) reads them.
    const via = join(scratchDir, `${basename(output)}.oggdec.wav`);
    await runChecked("oggdec", ["-Q", "-o", via, input]);
    await runChecked("ffmpeg", [...FF, "-i", via, "-t", String(maxSeconds), ...WAV_STEREO_44K, part]);
    await rm(via, { force: true });
  }
  await rename(part, output);
}

async function renderMidi(mid: string, sf2: string, output: string, maxSeconds: number): Promise<void> {
  if (await exists(output)) return;
  const raw = `${output}.fs.wav`;
  await runChecked("fluidsynth", ["-ni", "-q", "-g", "0.6", "-r", "44100", "-T", "wav", "-F", raw, sf2, mid]);
  const part = `${output}.part.wav`;
  await runChecked("ffmpeg", [...FF, "-i", raw, "-t", String(maxSeconds), ...WAV_STEREO_44K, part]);
  await rm(raw, { force: true });
  await rename(part, output);
}

async function mixTo(inputs: string[], output: string, maxSeconds: number): Promise<void> {
  if (await exists(output)) return;
  const part = `${output}.part.wav`;
  const args = inputs.flatMap((i) => ["-i", i]);
  const graph = `${inputs.map((_, k) => `[${k}:a]`).join("")}amix=inputs=${inputs.length}:normalize=0:duration=first[m]`;
  await runChecked("ffmpeg", [
    ...FF,
    ...args,
    "-filter_complex",
    graph,
    "-map",
    "[m]",
    "-t",
    String(maxSeconds),
    ...WAV_STEREO_44K,
    part,
  ]);
  await rename(part, output);
}

/** sha256 of the decoded PCM (ffmpeg's md5 muxer is not enough; we hash the raw s16le stream). */
async function pcmSha(wav: string): Promise<string> {
  const r = await runChecked("ffmpeg", [...FF, "-i", wav, "-f", "hash", "-hash", "sha256", "-"]);
  return r.stdout.trim().replace(/^SHA256=/, "");
}

function orderKey(id: string): string {
  return createHash("sha1").update(`earmark-fp:${id}`).digest("hex");
}

async function collectCandidates(
  out: string,
  maxSeconds: number,
  available: Set<string>,
  notes: string[],
): Promise<Candidate[]> {
  const extract = join(out, "extract");
  const audio = join(out, "audio");
  const scratch = join(out, "tmp");
  await mkdir(audio, { recursive: true });
  await mkdir(scratch, { recursive: true });
  const plain: { pkg: string; path: string; source: string; licence: string; name: string }[] = [];

  const addFiles = (pkg: string, filter: (p: string) => boolean) => {
    if (!available.has(pkg)) return;
    for (const p of packageFiles(pkg).filter(filter)) {
      plain.push({ pkg, path: p, source: p, licence: MUSIC_PACKAGES[pkg] ?? "?", name: basename(p) });
    }
  };
  const addZip = async (pkg: string, pk3: string, pattern: string) => {
    if (!available.has(pkg)) return;
    const dest = join(extract, pkg);
    await mkdir(dest, { recursive: true });
    await runChecked("unzip", ["-o", "-q", pk3, pattern, "-d", dest]);
    const dir = join(dest, dirname(pattern));
    for (const f of (await readdir(dir)).filter((n) => n.endsWith(".ogg")).sort()) {
      const licence = pkg === "ufoai-music" ? ufoaiLicence(f) : (MUSIC_PACKAGES[pkg] ?? "?");
      plain.push({ pkg, path: join(dir, f), source: `${pk3}!${dirname(pattern)}/${f}`, licence, name: f });
    }
  };

  await addZip("nexuiz-music", "/usr/share/games/nexuiz/data/music.pk3", "sound/cdtracks/*.ogg");
  await addZip("ufoai-music", "/usr/share/games/ufoai/base/0music.pk3", "music/*.ogg");
  addFiles("drascula-music", (p) => p.endsWith(".ogg"));
  addFiles("planetblupi-music-ogg", (p) => p.endsWith(".ogg"));
  addFiles("singularity-music", (p) => p.endsWith(".ogg"));
  addFiles("hyperrogue-music", (p) => p.includes("/music/") && p.endsWith(".ogg"));
  addFiles("asc-music", (p) => p.endsWith(".mp3"));

  // Exact duplicates by file content (drascula-music ships each track under six directories).
  const byHash = new Map<string, string>();
  const unique: typeof plain = [];
  for (const f of plain) {
    const h = await sha256File(await realpath(f.path));
    const prev = byHash.get(h);
    if (prev) continue;
    byHash.set(h, f.source);
    unique.push(f);
  }
  const dupes = plain.length - unique.length;
  if (dupes > 0)
    notes.push(`${dupes} files skipped as byte-identical duplicates (sha256 of the package file)`);
  log(`${plain.length} packaged audio files, ${unique.length} distinct by sha256`);

  const cands: Candidate[] = [];
  const used = new Set<string>();
  for (const f of unique) {
    let id = `${slug(f.pkg.replace(/-music(-ogg)?$/, ""))}--${slug(f.name)}`;
    while (used.has(id)) id += "-x";
    used.add(id);
    cands.push({
      id,
      pkg: f.pkg,
      source: f.source,
      licence: f.licence,
      wav: join(audio, `${id}.wav`),
      kind: "recording",
      durationSec: 0,
      partnerSource: f.path,
    });
  }
  await pool(cands, 2, async (c) => {
    await decodeTo(c.partnerSource as string, c.wav, maxSeconds, scratch);
    c.partnerSource = undefined;
  });

  // Frets on Fire: song.ogg is the backing track without guitar (their RMS adds like uncorrelated
  // signals), so the full mix is song + guitar; the guitar stem is the hard-negative query.
  for (const pkg of ["fretsonfire-songs-muldjord", "fretsonfire-songs-sectoid"]) {
    if (!available.has(pkg)) continue;
    const songs = packageFiles(pkg).filter((p) => p.endsWith("/song.ogg"));
    for (const song of songs) {
      const dir = dirname(song);
      const guitar = join(dir, "guitar.ogg");
      if (!(await exists(guitar))) continue;
      const id = `fof--${slug(basename(dir))}`;
      const mix = join(audio, `${id}--mix.wav`);
      const stem = join(audio, `${id}--guitar.wav`);
      await mixTo([song, guitar], mix, maxSeconds);
      await decodeTo(guitar, stem, maxSeconds, scratch);
      cands.push({
        id,
        pkg,
        source: `${song} + ${guitar}`,
        licence: MUSIC_PACKAGES[pkg] ?? "?",
        wav: mix,
        kind: "fof",
        partnerWav: stem,
        partnerSource: guitar,
        durationSec: 0,
      });
    }
  }

  // OpenMSX MIDI rendered with two General MIDI soundfonts.
  if (available.has("openttd-openmsx")) {
    const mids = packageFiles("openttd-openmsx")
      .filter((p) => p.endsWith(".mid"))
      .sort();
    await pool(mids, 2, async (mid) => {
      const id = `openmsx--${slug(basename(mid))}`;
      const a = join(audio, `${id}--fluidr3.wav`);
      const b = join(audio, `${id}--timgm6mb.wav`);
      await renderMidi(mid, SOUNDFONTS.fluid.path, a, maxSeconds);
      await renderMidi(mid, SOUNDFONTS.timgm.path, b, maxSeconds);
      cands.push({
        id,
        pkg: "openttd-openmsx",
        source: `${mid} rendered with FluidR3_GM.sf2`,
        licence: `${MUSIC_PACKAGES["openttd-openmsx"]}; soundfont ${SOUNDFONTS.fluid.licence}`,
        wav: a,
        kind: "midi",
        partnerWav: b,
        partnerSource: `${mid} rendered with TimGM6mb.sf2`,
        durationSec: 0,
      });
    });
  }
  await pool(cands, 2, async (c) => {
    c.durationSec = await probeDuration(c.wav);
  });
  return cands.sort((x, y) => x.id.localeCompare(y.id));
}

/** Drops candidates that are too short, PCM-identical, or that fpcalc scores as the same recording. */
async function dedupe(cands: Candidate[], minSeconds: number, notes: string[]): Promise<Candidate[]> {
  const long = cands.filter((c) => c.durationSec >= minSeconds);
  const short = cands.filter((c) => c.durationSec < minSeconds);
  if (short.length > 0)
    notes.push(`dropped as shorter than ${minSeconds}s: ${short.map((c) => c.id).join(", ")}`);
  await pool(long, 2, async (c) => {
    c.pcmSha = await pcmSha(c.wav);
  });
  const seen = new Map<string, string>();
  const distinct: Candidate[] = [];
  for (const c of long) {
    const prev = seen.get(c.pcmSha as string);
    if (prev) {
      notes.push(`dropped ${c.id}: decoded PCM identical to ${prev}`);
      continue;
    }
    seen.set(c.pcmSha as string, c.id);
    distinct.push(c);
  }
  // Near-duplicates (the same music in two files, or one file being an excerpt of another).
  const fps = new Map<string, Uint32Array>();
  await pool(distinct, 2, async (c) => {
    fps.set(c.id, await fpcalcRaw(c.wav));
  });
  const kept: Candidate[] = [];
  for (const c of distinct) {
    const fc = fps.get(c.id) as Uint32Array;
    let dupOf: string | null = null;
    let dupScore = 0;
    for (const k of kept) {
      const fk = fps.get(k.id) as Uint32Array;
      const s = Math.max(compareFingerprints(fk, fc).score, compareFingerprints(fc, fk).score);
      if (s > 0.4) {
        dupOf = k.id;
        dupScore = s;
        break;
      }
    }
    if (dupOf) notes.push(`dropped ${c.id}: fpcalc score ${dupScore.toFixed(3)} against ${dupOf}`);
    else kept.push(c);
  }
  log(`${cands.length} candidates, ${kept.length} kept after length/PCM/fpcalc de-duplication`);
  return kept;
}

async function makeLoopPair(
  out: string,
  donor: Candidate,
  a: Candidate,
  b: Candidate,
  n: number,
): Promise<{ indexWav: string; queryWav: string; description: string }> {
  const audio = join(out, "audio");
  const loop = join(audio, `loop${n}--${donor.id}.wav`);
  const start = Math.max(0, donor.durationSec / 2 - 3);
  if (!(await exists(loop))) {
    const part = `${loop}.part.wav`;
    await runChecked("ffmpeg", [
      ...FF,
      "-ss",
      start.toFixed(3),
      "-t",
      "6",
      "-i",
      donor.wav,
      ...WAV_STEREO_44K,
      part,
    ]);
    await rename(part, loop);
  }
  const overlay = async (base: Candidate, dest: string) => {
    if (await exists(dest)) return;
    const part = `${dest}.part.wav`;
    await runChecked("ffmpeg", [
      ...FF,
      "-i",
      base.wav,
      "-stream_loop",
      "-1",
      "-i",
      loop,
      "-filter_complex",
      "[0:a][1:a]amix=inputs=2:normalize=0:duration=first,volume=0.7[m]",
      "-map",
      "[m]",
      ...WAV_STEREO_44K,
      part,
    ]);
    await rename(part, dest);
  };
  const indexWav = join(audio, `loop${n}--index--${a.id}.wav`);
  const queryWav = join(audio, `loop${n}--query--${b.id}.wav`);
  await overlay(a, indexWav);
  await overlay(b, queryWav);
  return {
    indexWav,
    queryWav,
    description: `6 s loop from ${donor.id} at ${start.toFixed(1)} s, repeated at equal level under ${a.id} (indexed) and ${b.id} (queried)`,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "/tmp/earmark-fp-corpus" },
      "max-refs": { type: "string", default: "120" },
      "max-seconds": { type: "string", default: "120" },
      "min-seconds": { type: "string", default: "30" },
      "loop-pairs": { type: "string", default: "4" },
      jobs: { type: "string", default: "2" },
      "skip-variants": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: tsx bench/fingerprint/corpus.ts [--out DIR] [--max-refs N] [--max-seconds S] [--min-seconds S]\n" +
        "                                       [--loop-pairs N] [--jobs 1|2] [--skip-variants]\n",
    );
    return;
  }
  const out = resolve(values.out);
  const maxRefs = Number(values["max-refs"]);
  const maxSeconds = Number(values["max-seconds"]);
  const minSeconds = Number(values["min-seconds"]);
  const loopPairs = Number(values["loop-pairs"]);
  const jobs = Math.min(2, Math.max(1, Number(values.jobs)));
  for (const [k, v] of Object.entries({ maxRefs, maxSeconds, minSeconds, loopPairs })) {
    if (!Number.isFinite(v) || v < 0) throw new CliError(`--${k} must be a non-negative number`);
  }
  for (const dir of [process.cwd(), dirname(new URL(import.meta.url).pathname)]) {
    const top = gitTopLevel(dir);
    if (top && !relative(top, out).startsWith("..") && !relative(top, out).startsWith("/")) {
      throw new CliError(`--out ${out} is inside the git work tree ${top}; choose a directory outside it`);
    }
  }
  requireTools([
    "ffmpeg",
    "ffprobe",
    "sox",
    "rubberband",
    "fpcalc",
    "fluidsynth",
    "unzip",
    "oggdec",
    "dpkg-query",
  ]);
  for (const sf of Object.values(SOUNDFONTS)) {
    if (!(await exists(sf.path))) {
      throw new CliError(`${sf.path} missing: apt-get install -y --no-install-recommends ${sf.pkg}`);
    }
  }
  await mkdir(out, { recursive: true });
  const started = Date.now();
  const notes: string[] = [];
  const packages = [...Object.keys(MUSIC_PACKAGES), ...Object.values(SOUNDFONTS).map((s) => s.pkg)].map(
    (name) => {
      const version = packageVersion(name);
      return { name, version, status: version === null ? ("missing" as const) : ("installed" as const) };
    },
  );
  const missing = packages.filter((p) => p.status === "missing").map((p) => p.name);
  if (missing.length > 0) {
    log(
      `not installed, skipped: ${missing.join(" ")} (apt-get install -y --no-install-recommends ${missing.join(" ")})`,
    );
    notes.push(`packages not installed and skipped: ${missing.join(", ")}`);
  }
  const available = new Set(packages.filter((p) => p.status === "installed").map((p) => p.name));

  const all = await dedupe(await collectCandidates(out, maxSeconds, available, notes), minSeconds, notes);

  // Role assignment, deterministic. Frets on Fire mixes and (up to 16) MIDI renderings are references
  // with a hard-negative partner; recordings are shuffled by a fixed hash: the first 3 * loopPairs build
  // the shared-loop pairs, the rest fill the references up to maxRefs, and everything left over is a
  // non-member. Extra MIDI renderings become non-members as well.
  const fof = all.filter((c) => c.kind === "fof");
  const midi = all.filter((c) => c.kind === "midi");
  const recs = all
    .filter((c) => c.kind === "recording")
    .sort((x, y) => orderKey(x.id).localeCompare(orderKey(y.id)));
  const midiRefs = midi.slice(0, 16);
  const loopMaterial = recs.slice(0, 3 * loopPairs);
  const rest = recs.slice(3 * loopPairs);
  const recRefCount = Math.max(0, Math.min(rest.length, maxRefs - fof.length - midiRefs.length));
  const recRefs = rest.slice(0, recRefCount);
  const nonMembers = [...rest.slice(recRefCount), ...midi.slice(16)];

  const entries: ManifestEntry[] = [];
  const pairs: HardNegativePair[] = [];
  const addEntry = async (
    id: string,
    role: Role,
    wav: string,
    c: Pick<Candidate, "pkg" | "source" | "licence">,
    note?: string,
  ) => {
    entries.push({
      id,
      role,
      file: relative(out, wav),
      package: c.pkg,
      source: c.source,
      licence: c.licence,
      durationSec: Number((await probeDuration(wav)).toFixed(3)),
      sha256: await sha256File(wav),
      ...(note ? { note } : {}),
    });
  };
  for (const c of [...recRefs, ...fof, ...midiRefs]) await addEntry(c.id, "reference", c.wav, c);
  for (const c of nonMembers) await addEntry(c.id, "non-member", c.wav, c);
  for (const c of midiRefs) {
    const qid = `${c.id}--timgm6mb`;
    await addEntry(qid, "hard-negative-query", c.partnerWav as string, {
      pkg: c.pkg,
      source: c.partnerSource as string,
      licence: `${MUSIC_PACKAGES["openttd-openmsx"]}; soundfont ${SOUNDFONTS.timgm.licence}`,
    });
    pairs.push({
      id: `soundfont--${c.id}`,
      kind: "soundfont",
      indexId: c.id,
      queryId: qid,
      description: "same MIDI file, indexed as a FluidR3_GM rendering, queried as a TimGM6mb rendering",
    });
  }
  for (const c of fof) {
    const qid = `${c.id}--guitar`;
    await addEntry(qid, "hard-negative-query", c.partnerWav as string, {
      ...c,
      source: c.partnerSource as string,
    });
    pairs.push({
      id: `stem--${c.id}`,
      kind: "stem",
      indexId: c.id,
      queryId: qid,
      description: "Frets on Fire song: full mix (song.ogg + guitar.ogg) indexed, guitar stem queried",
    });
  }
  for (let n = 0; n < loopPairs; n++) {
    const [donor, a, b] = loopMaterial.slice(3 * n, 3 * n + 3);
    if (!donor || !a || !b) break;
    const lp = await makeLoopPair(out, donor, a, b, n + 1);
    const iid = `loop${n + 1}--index--${a.id}`;
    const qid = `loop${n + 1}--query--${b.id}`;
    const src = (c: Candidate) => ({
      pkg: `${c.pkg} + ${donor.pkg}`,
      source: `${c.source} + loop from ${donor.source}`,
      licence: `${c.licence}; loop: ${donor.licence}`,
    });
    await addEntry(iid, "hard-negative-index", lp.indexWav, src(a));
    await addEntry(qid, "hard-negative-query", lp.queryWav, src(b));
    pairs.push({
      id: `loop--${n + 1}`,
      kind: "loop",
      indexId: iid,
      queryId: qid,
      description: lp.description,
    });
  }

  let variants: Manifest["variants"] = [];
  if (!values["skip-variants"]) {
    const refs = entries.filter((e) => e.role === "reference");
    log(`building ${refs.length} x ${TRANSFORMS.length} variants with ${jobs} job(s)`);
    const records = await makeVariants(
      out,
      refs.map((e) => ({ refId: e.id, input: join(out, e.file), duration: e.durationSec })),
      jobs,
      log,
    );
    variants = [];
    await pool(records, jobs, async (r) => {
      variants.push({ ...r, sha256: await sha256File(join(out, r.file)) });
    });
    variants.sort((a, b) => a.refId.localeCompare(b.refId) || a.transform.localeCompare(b.transform));
  }
  await rm(join(out, "tmp"), { recursive: true, force: true });

  const manifest: Manifest = {
    version: 1,
    createdAt: new Date().toISOString(),
    settings: { maxSeconds, maxRefs, minSeconds },
    packages,
    entries,
    pairs,
    transforms: TRANSFORMS.map((t) => ({ name: t.name, description: t.description })),
    variants,
    notes,
  };
  await writeFile(join(out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const count = (r: Role) => entries.filter((e) => e.role === r).length;
  const hours = entries.reduce((s, e) => s + e.durationSec, 0) / 3600;
  log(
    `wrote ${join(out, "manifest.json")}: ${count("reference")} references, ${count("non-member")} non-members, ` +
      `${pairs.length} hard-negative pairs, ${variants.length} variants, ${hours.toFixed(2)} h of source audio, ` +
      `${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  for (const n of notes) log(`note: ${n}`);
}

/** Reads and minimally validates a manifest written by this script. */
export async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, "manifest.json");
  if (!(await exists(path))) {
    throw new CliError(`${path} not found; build it with: npx tsx bench/fingerprint/corpus.ts --out ${dir}`);
  }
  const m = JSON.parse(await readFile(path, "utf8")) as Manifest;
  if (m.version !== 1 || !Array.isArray(m.entries))
    throw new CliError(`${path} is not a version-1 corpus manifest`);
  return m;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`corpus: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  });
}
