/**
 * `npm run bench:classifier [-- --file F] [--runs N]`: how fast the AI-likeness classifier is on one core.
 * Prints (never pass/fail): model load time in a fresh process (cold: TensorFlow.js, the backend, the files),
 * then for a 3-minute 44.1 kHz stereo WAV (or --file) the whole stage path (decode → 16 kHz → features →
 * network) and the features + network part alone, as medians of --runs, with × real time. Goals
 * (issue 7): load < 1 s, ≥ 200× real time.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { featuresOf } from "../src/classifier/features.js";
import { encodeWav, makeSignal } from "../test/harness/audio.js";

const { values: args } = parseArgs({
  options: { file: { type: "string" }, runs: { type: "string", default: "5" } },
});
const runs = Number(args.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

// Cold: importing TensorFlow.js and the backend is part of the first load (the stage imports it on first use).
const t0 = performance.now();
const { loadModel, scoreWindows } = await import("../src/classifier/model.js");
const model = await loadModel();
const loadMs = performance.now() - t0;
const { fileFeatures } = await import("../src/classifier/train.js");
console.log(
  `model ${model.card.modelVersion}, backend ${model.backend}: import + load ${loadMs.toFixed(0)} ms (cold, first in this process)`,
);

let dir: string | null = null;
let file = args.file;
if (!file) {
  dir = await mkdtemp(path.join(os.tmpdir(), "earmark-bench-clf-"));
  file = path.join(dir, "three-minutes.wav");
  await writeFile(file, encodeWav(makeSignal({ seconds: 180, sampleRate: 44100, channels: 2, seed: 3 })));
}
try {
  const whole: number[] = [];
  const core: number[] = [];
  // CPU time as well as wall time: on a shared machine the wall clock also counts time spent waiting for a core.
  const wholeCpu: number[] = [];
  const coreCpu: number[] = [];
  const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  let durationS = 0;
  for (let i = 0; i < runs; i++) {
    const a = performance.now();
    const c = process.cpuUsage();
    const f = await fileFeatures(file);
    await scoreWindows(model, f);
    whole.push(performance.now() - a);
    wholeCpu.push(cpuMs(process.cpuUsage(c)));
    durationS = f.durationS;
  }
  // Features + network only, on the 16 kHz signal the stage computes (decode and resampling excluded).
  const pcm = new Float32Array(Math.round(durationS * 16000));
  const src = makeSignal({ seconds: durationS, sampleRate: 16000, channels: 1, seed: 3 })
    .channels[0] as Float32Array;
  pcm.set(src.subarray(0, pcm.length));
  for (let i = 0; i < runs; i++) {
    const a = performance.now();
    const c = process.cpuUsage();
    await scoreWindows(model, featuresOf(pcm));
    core.push(performance.now() - a);
    coreCpu.push(cpuMs(process.cpuUsage(c)));
  }
  const w = median(whole);
  const c = median(core);
  console.log(`${path.basename(file)}: ${durationS.toFixed(1)} s of audio, medians of ${runs}`);
  const wc = median(wholeCpu);
  const cc = median(coreCpu);
  const x = (ms: number) => `${(durationS / (ms / 1000)).toFixed(0)}×`;
  console.log(
    `  decode + resample + features + network: wall ${w.toFixed(0)} ms = ${x(w)} real time; CPU ${wc.toFixed(0)} ms = ${x(wc)}`,
  );
  console.log(
    `  features + network (16 kHz input):       wall ${c.toFixed(0)} ms = ${x(c)} real time; CPU ${cc.toFixed(0)} ms = ${x(cc)}`,
  );
  console.log(`  (load average ${os.loadavg()[0]?.toFixed(1)} on ${os.cpus().length} cores)`);
} finally {
  if (dir) await rm(dir, { recursive: true, force: true });
}
