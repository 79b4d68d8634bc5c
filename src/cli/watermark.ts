import { createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import { pino } from "pino";
import { decodeAudio } from "../audio/decode/index.js";
import { encodeAudio, formatForPath, mp3CanHold, renditionTarget, wavHeader } from "../audio/encode.js";
import { openAudioFile } from "../audio/open.js";
import { detectWatermark, embedWatermark, parsePayloadHex } from "../watermark/index.js";
import { setupWatermarking } from "../watermark/setup.js";
import { linkWatermark } from "../watermark/store.js";
import { CliError, configFromEnv, json, readingFile, withDatabase } from "./context.js";

const openInput = (file: string, limits: { maxDurationS: number }) =>
  readingFile(file, () => openAudioFile(file, limits));

/** `earmark watermark embed|detect`: the deployment's mark, outside the pipeline (same key as the server). */
export function registerWatermarkCommands(program: Command): void {
  const wm = program
    .command("watermark")
    .description(
      "Embed and detect Earmark's audio watermark with this deployment's key (EARMARK_WATERMARK_KEY)",
    );

  wm.command("embed <in> <out>")
    .description("Write IN to OUT (.wav, .flac or .mp3) with the watermark carrying PAYLOAD")
    .requiredOption("--payload <hex>", "the 64-bit payload, 16 hex digits")
    .action(async (input: string, output: string, opts: { payload: string }) => {
      let payload: Uint8Array;
      try {
        payload = parsePayloadHex(opts.payload);
      } catch (err) {
        throw new CliError(`--payload: ${(err as Error).message}`);
      }
      const format = formatForPath(output);
      if (!format) throw new CliError(`${output}: the output must end in .wav, .flac or .mp3.`);
      const config = configFromEnv();
      const { key } = await setupWatermarking(config, pino({ level: "warn" }, pino.destination(2)));
      const limits = { maxDurationS: config.limits.maxDurationS };
      const { source, probe } = await openInput(input, limits);
      if (format === "mp3" && !mp3CanHold(probe))
        throw new CliError(
          `${input}: ${probe.channels} channel(s) at ${probe.sampleRate} Hz cannot be written as MP3; write .flac or .wav.`,
        );
      const target = { ...renditionTarget(probe), format, frames: null };
      const marked = embedWatermark(decodeAudio(source, probe, limits), { key, payload });
      await pipeline(encodeAudio(marked, target), createWriteStream(output));
      if (format === "wav") await sealWav(output, target);
      json({ file: output, payload: Buffer.from(payload).toString("hex"), format });
    });

  wm.command("detect <files...>")
    .description(
      "Detect the watermark in audio files: one JSON line per file with the payload, the upload it links to " +
        "(the data directory's database or DATABASE_URL), the confidence and the time ranges where it was found",
    )
    .action(async (files: string[]) => {
      const config = configFromEnv();
      const { key } = await setupWatermarking(config, pino({ level: "warn" }, pino.destination(2)));
      const limits = { maxDurationS: config.limits.maxDurationS };
      let failures = 0;
      await withDatabase(
        config,
        "watermark detect",
        async (database) => {
          for (const file of files) {
            let opened: Awaited<ReturnType<typeof openAudioFile>>;
            try {
              opened = await openInput(file, limits);
            } catch (err) {
              if (!(err instanceof CliError) || err.message.includes("no such file")) throw err;
              json({ file, error: err.message });
              failures++;
              continue;
            }
            const found = await detectWatermark(decodeAudio(opened.source, opened.probe, limits), { key });
            const link = found.payload ? await linkWatermark(database.db, found.payload) : null;
            json({
              file,
              found: found.found,
              payload: found.payload ? Buffer.from(found.payload).toString("hex") : null,
              linkedUploadId: link?.uploadId ?? null,
              confidence: found.confidence,
              ranges: found.ranges,
              speedRatio: found.speedRatio,
            });
          }
        },
        { readOnly: true },
      );
      if (failures > 0) process.exitCode = 1;
    });
}

/** A WAV written as a stream has placeholder sizes; the file on disk gets its real ones. */
async function sealWav(file: string, target: Parameters<typeof wavHeader>[0]): Promise<void> {
  const handle = await open(file, "r+");
  try {
    const { size } = await handle.stat();
    const frames = (size - 44) / (target.channels * (target.bitDepth / 8));
    await handle.write(wavHeader(target, frames), 0, 44, 0);
  } finally {
    await handle.close();
  }
}
