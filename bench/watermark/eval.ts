/**
 * Watermark robustness evaluation (issue 6).
 *
 *   npm run eval:watermark -- --corpus /tmp/earmark-wm-corpus [--attacks a,b] [--files N] [--no-audiowmark]
 *     [--seed S] [--keep]
 *
 * For every WAV in the corpus: embed a random 64-bit payload with a random key, measure SNR and the
 * noise-to-mask ratio (nmr.ts), apply every attack in attacks.ts, detect, and count exact recoveries
 * and bit errors; detect on the unmarked original (false positives). When `audiowmark` is on PATH
 * the same is done with `audiowmark add`/`get` (default strength, random 128-bit payload).
 * Work files go to bench/out/wm-eval (ignored by git).
 *
 * `--seed S` derives every key, payload and the added noise from S and the file name instead of drawing them
 * at random, so a run (or a subset of its attacks) can be repeated with the same marks; `--keep` leaves each
 * file's marked.wav (and awm.wav) in bench/out/wm-eval/<file>/ for diagnosis.
 */

import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { detectWatermarkDetailed } from "../../src/watermark/detect.js";
import { embedWatermark } from "../../src/watermark/index.js";
import { ATTACKS, seedNoise } from "./attacks.js";
import { chunked, collect, readAudio, runTool, snrDb, writeWav } from "./audio-io.js";
import { noiseToMask } from "./nmr.js";

const { values } = parseArgs({
  options: {
    corpus: { type: "string", default: "/tmp/earmark-wm-corpus" },
    attacks: { type: "string" },
    files: { type: "string" },
    "no-audiowmark": { type: "boolean", default: false },
    strength: { type: "string" },
    seed: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});

/** With --seed, makes the noise of `attack` on `file` repeatable (the same in a run of any subset of attacks). */
const seedAttack = (file: string, attack: string, tool: string) => {
  if (values.seed !== undefined)
    seedNoise(Buffer.from(bytesFor(file, `noise/${attack}/${tool}`, 4)).readUInt32LE(0));
};

/** `n` bytes for `what` of `file`: derived from --seed when given, random otherwise. */
const bytesFor = (file: string, what: string, n: number): Uint8Array =>
  values.seed === undefined
    ? randomBytes(n)
    : Uint8Array.from(createHash("sha256").update(`${values.seed}/${file}/${what}`).digest().subarray(0, n));

const hasAudiowmark =
  !values["no-audiowmark"] && spawnSync("sh", ["-c", "command -v audiowmark"]).status === 0;
const attacks = values.attacks ? ATTACKS.filter((a) => values.attacks?.split(",").includes(a.name)) : ATTACKS;
const files = (await readdir(values.corpus))
  .filter((f) => f.endsWith(".wav"))
  .sort()
  .slice(0, values.files ? Number(values.files) : undefined);
const work = join("bench", "out", "wm-eval");
await mkdir(work, { recursive: true });

const hamming = (a: Uint8Array | null, b: Uint8Array): number => {
  if (!a) return b.length * 8;
  let d = 0;
  for (let i = 0; i < b.length; i++) {
    let x = ((a[i] ?? 0) ^ (b[i] as number)) & 0xff;
    while (x) {
      d += x & 1;
      x >>= 1;
    }
  }
  return d;
};

interface Tally {
  ok: number;
  n: number;
  bitErrors: number;
  seconds: number;
}
const tally = () => ({ ok: 0, n: 0, bitErrors: 0, seconds: 0 });
const ours = new Map<string, Tally>(attacks.map((a) => [a.name, tally()]));
const theirs = new Map<string, Tally>(attacks.map((a) => [a.name, tally()]));
const perFile: string[] = [];
let falsePositives = 0;
let awmFalsePositives = 0;

async function awmGet(file: string): Promise<Uint8Array | null> {
  const r = spawnSync("audiowmark", ["get", file], { encoding: "utf8" });
  // Lines like: "pattern  0:00 0123…cdef 1.325 0.093 A" — take the most frequent payload.
  const counts = new Map<string, number>();
  for (const line of r.stdout.split("\n")) {
    const m = /^pattern\s+\S+\s+([0-9a-f]{32})\s/.exec(line.trim());
    if (m?.[1]) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  }
  const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  return best ? Uint8Array.from(Buffer.from(best[0], "hex")) : null;
}

async function awmAll(file: string): Promise<string[]> {
  const r = spawnSync("audiowmark", ["get", file], { encoding: "utf8" });
  return [...r.stdout.matchAll(/pattern\s+\S+\s+([0-9a-f]{32})\s/g)].map((m) => m[1] as string);
}

for (const file of files) {
  const path = join(values.corpus, file);
  const dir = join(work, file.replace(/\.wav$/, ""));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const original = await readAudio(path);
  const key = bytesFor(file, "key", 32);
  const payload = bytesFor(file, "payload", 8);
  const marked = await collect(
    embedWatermark(chunked(original), {
      key,
      payload,
      ...(values.strength ? { strength: Number(values.strength) } : {}),
    }),
  );
  const markedWav = join(dir, "marked.wav");
  await writeWav(markedWav, marked, 16);
  const marked16 = await readAudio(markedWav);
  const nmr = noiseToMask(original, marked16);
  const fp = await detectWatermarkDetailed(chunked(original), { key });
  if (fp.found) falsePositives++;
  let line = `${file}: earmark SNR ${snrDb(original, marked16).toFixed(1)} dB, NMR mean ${nmr.meanNmrDb.toFixed(1)} dB / worst band ${nmr.worstBandNmrDb.toFixed(1)} dB / frames > 0 dB ${nmr.framesAboveThresholdPct.toFixed(1)} %`;

  let awmWav = "";
  let awmPayload: Uint8Array = new Uint8Array(16);
  if (hasAudiowmark) {
    awmPayload = bytesFor(file, "audiowmark payload", 16);
    awmWav = join(dir, "awm.wav");
    await runTool("audiowmark", ["add", path, awmWav, Buffer.from(awmPayload).toString("hex")]);
    const awm = await readAudio(awmWav);
    const awmNmr = noiseToMask(original, awm);
    line += `; audiowmark SNR ${snrDb(original, awm).toFixed(1)} dB, NMR mean ${awmNmr.meanNmrDb.toFixed(1)} dB / worst band ${awmNmr.worstBandNmrDb.toFixed(1)} dB / frames > 0 dB ${awmNmr.framesAboveThresholdPct.toFixed(1)} %`;
    const fpAwm = await awmAll(path);
    if (fpAwm.length > 0) awmFalsePositives++;
  }
  perFile.push(line);
  console.error(line);
  if (values.seed !== undefined)
    console.error(`  (seed ${values.seed}: payload ${Buffer.from(payload).toString("hex")})`);

  for (const attack of attacks) {
    seedAttack(file, attack.name, "earmark");
    const attacked = await attack.apply(markedWav, dir, marked16);
    const t0 = performance.now();
    const d = await detectWatermarkDetailed(chunked(attacked), { key });
    const t = ours.get(attack.name) as Tally;
    t.seconds += (performance.now() - t0) / 1000;
    t.n++;
    const ok = d.found && Buffer.from(d.payload as Uint8Array).equals(payload);
    if (ok) t.ok++;
    t.bitErrors += hamming(d.bestGuess, payload);
    let awmNote = "";
    if (hasAudiowmark) {
      seedAttack(file, attack.name, "audiowmark");
      const attackedAwm = await attack.apply(awmWav, join(dir), await readAudio(awmWav));
      const tmp = join(dir, "awm-attacked.wav");
      await writeWav(tmp, attackedAwm, 16);
      const got = await awmGet(tmp);
      const ta = theirs.get(attack.name) as Tally;
      ta.n++;
      if (got && Buffer.from(got).equals(awmPayload)) ta.ok++;
      ta.bitErrors += hamming(got, awmPayload);
      awmNote = ` | audiowmark ${got && Buffer.from(got).equals(awmPayload) ? "ok" : "FAIL"}`;
    }
    console.error(
      `  ${attack.name.padEnd(30)} ${ok ? "ok" : "FAIL"} (bit errors ${hamming(d.bestGuess, payload)}, speed ${d.speedRatio?.toFixed(4) ?? "–"})${awmNote}`,
    );
  }
  if (!values.keep) await rm(dir, { recursive: true, force: true });
}

const pad = (s: string, n: number) => s.padEnd(n);
console.log(`\nWatermark evaluation: ${files.length} files from ${values.corpus}`);
for (const l of perFile) console.log(`- ${l}`);
console.log(
  `\n| attack | earmark recovered | earmark bit errors (of ${files.length}×64) |${hasAudiowmark ? ` audiowmark recovered | audiowmark bit errors (of ${files.length}×128) |` : ""}`,
);
console.log(`|---|---|---|${hasAudiowmark ? "---|---|" : ""}`);
for (const a of attacks) {
  const o = ours.get(a.name) as Tally;
  const t = theirs.get(a.name) as Tally;
  console.log(
    `| ${pad(a.name, 30)} | ${o.ok}/${o.n} | ${o.bitErrors} |${hasAudiowmark ? ` ${t.ok}/${t.n} | ${t.bitErrors} |` : ""}`,
  );
}
console.log(
  `\nFalse positives on the unmarked originals: earmark ${falsePositives}/${files.length} (found = a MAC-valid payload).`,
);
if (hasAudiowmark) {
  console.log(
    `audiowmark \`get\` printed a payload for ${awmFalsePositives}/${files.length} unmarked originals: it always prints its best guesses with scores and has no integrity check, so this is not a comparable false-positive rate.`,
  );
}
