import { existsSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { MODEL_DIR } from "../classifier/paths.js";
import type { EvalRow } from "../classifier/train.js";
import { CliError, json, readingFile } from "./context.js";

const DEFAULT_DATA = "/tmp/earmark-ai-corpus";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number ≥ 1");
  return n;
}

function pct(x: number | null): string {
  return x === null ? "   —  " : `${(x * 100).toFixed(1).padStart(5)}%`;
}

function table(title: string, rows: EvalRow[]): string {
  const width = Math.max(12, ...rows.map((r) => r.group.length));
  const head = `${"".padEnd(width)}  items  human  synth    AUC     EER    FPR@t   TPR@t`;
  const lines = rows.map(
    (r) =>
      `${r.group.padEnd(width)}  ${String(r.items).padStart(5)}  ${String(r.human).padStart(5)}  ${String(r.synthetic).padStart(5)}  ${r.auc === null ? "  —   " : r.auc.toFixed(4)}  ${pct(r.eer)}  ${pct(r.fprAtThreshold)}  ${pct(r.tprAtThreshold)}`,
  );
  return [`${title}`, head, ...lines].join("\n");
}

/** `earmark detector score|train|eval`: the AI-likeness classifier outside the pipeline. */
export function registerDetectorCommands(program: Command): void {
  const detector = program
    .command("detector")
    .description("The AI-likeness classifier: score files, train the model, evaluate it on a corpus");

  detector
    .command("score <files...>")
    .description("Score audio files with the shipped model; one JSON line per file: {file, score, segments}")
    .action(async (files: string[]) => {
      // TensorFlow.js is loaded only by the commands that need it.
      const { loadModel, scoreWindows } = await import("../classifier/model.js");
      const { fileFeatures } = await import("../classifier/train.js");
      const model = await loadModel();
      for (const file of files) {
        const features = await readingFile(file, () => fileFeatures(file));
        const r = await scoreWindows(model, features);
        json({
          file,
          score: r.score,
          segments: r.segments,
          applicable: r.applicable,
          modelVersion: r.modelVersion,
        });
      }
    });

  detector
    .command("train")
    .description("Train the model on the corpus (detectors/ai-likeness/corpus/build.ts) and write it")
    .option("-d, --data <dir>", "corpus directory", DEFAULT_DATA)
    .option("-o, --out <dir>", "where to write model.json, weights.bin, calibration.json", MODEL_DIR)
    .option("-e, --epochs <n>", "training epochs", positiveInt, 60)
    .option("--seed <n>", "random seed", positiveInt, 7)
    .option("--exclude-engine <name...>", "leave these engines out of training (held-out experiments)")
    .action(
      async (opts: { data: string; out: string; epochs: number; seed: number; excludeEngine?: string[] }) => {
        if (!existsSync(opts.data))
          throw new CliError(
            `${opts.data}: no corpus there; build it with detectors/ai-likeness/corpus/build.ts.`,
          );
        const { trainModel } = await import("../classifier/train.js");
        const started = performance.now();
        await trainModel({
          dataDir: opts.data,
          outDir: opts.out,
          epochs: opts.epochs,
          seed: opts.seed,
          excludeEngines: opts.excludeEngine,
          progress: (line) =>
            process.stderr.write(
              `[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`,
            ),
        });
      },
    );

  detector
    .command("eval")
    .description(
      "Evaluate a model on a corpus split: AUC, EER, FPR at the review threshold, per condition, engine and speaker",
    )
    .requiredOption("-d, --data <dir>", "corpus directory")
    .option("-m, --model <dir>", "model directory", MODEL_DIR)
    .option("-s, --split <name>", "train, val or test", "test")
    .option("--reencode <codec>", "re-encode every item first: mp3-64k")
    .option("-f, --format <format>", "text or json", "text")
    .action(
      async (opts: { data: string; model: string; split: string; reencode?: string; format: string }) => {
        if (!["train", "val", "test"].includes(opts.split))
          throw new CliError(`--split must be train, val or test, not ${opts.split}.`);
        if (opts.reencode && opts.reencode !== "mp3-64k")
          throw new CliError(`--reencode supports mp3-64k, not ${opts.reencode}.`);
        if (!existsSync(opts.data)) throw new CliError(`${opts.data}: no corpus there.`);
        const { loadModel } = await import("../classifier/model.js");
        const { evaluateModel } = await import("../classifier/train.js");
        const model = await loadModel(opts.model);
        let report: Awaited<ReturnType<typeof evaluateModel>>;
        try {
          report = await evaluateModel(model, {
            dataDir: opts.data,
            split: opts.split as "test",
            reencode: (opts.reencode as "mp3-64k" | undefined) ?? null,
            progress: (line) => process.stderr.write(`${line}\n`),
          });
        } catch (err) {
          if (err instanceof Error && err.message.includes("manifest.json")) throw new CliError(err.message);
          throw err;
        }
        if (opts.format === "json") {
          json(report);
          return;
        }
        const a = report.applicability;
        process.stdout.write(
          [
            `model ${report.modelVersion}, split ${report.split}${report.reencode ? `, re-encoded ${report.reencode}` : ""}, review threshold t = ${report.reviewThreshold}`,
            "",
            table("by condition", report.conditions),
            "",
            table("by engine (each against all human items of the split)", report.engines),
            "",
            table("by speaker", report.speakers),
            "",
            `applicability (speech vs music): ${a.speechItems} speech and ${a.musicItems} music items, accuracy ${pct(a.accuracy)}; speech taken for music ${a.speechAsMusic}, music taken for speech ${a.musicAsSpeech}`,
            "",
          ].join("\n"),
        );
      },
    );
}
