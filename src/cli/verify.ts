import type { Command } from "commander";
import { pino } from "pino";
import { fileSource } from "../audio/bytes.js";
import { AudioInputError } from "../errors.js";
import { setupProvenance } from "../provenance/service.js";
import { verifyAudio } from "../provenance/verify.js";
import { FsBlobStore } from "../storage/fs-blob-store.js";
import { setupWatermarking } from "../watermark/setup.js";
import { configFromEnv, json, readingFile, withDatabase } from "./context.js";

/** `earmark verify FILE…`: what `POST /v1/verify` answers, against the data directory or DATABASE_URL. */
export function registerVerifyCommand(program: Command): void {
  program
    .command("verify <files...>")
    .description(
      "Verify audio files: their own C2PA manifest, Earmark's watermark, their fingerprint matches, and the " +
        "distributed upload each is " +
        "with its signed credentials (one JSON line per file)",
    )
    .action(async (files: string[]) => {
      const config = configFromEnv();
      // Warnings (development credentials) go to stderr; stdout is the JSON lines.
      const warnings = pino({ level: "warn" }, pino.destination(2));
      const provenance = await setupProvenance(config, warnings);
      const watermarking = await setupWatermarking(config, warnings);
      const blobs = new FsBlobStore(config.blobDir);
      let failures = 0;
      await withDatabase(
        config,
        "verify",
        async (database) => {
          for (const file of files) {
            const source = await readingFile(file, () => fileSource(file));
            try {
              json({
                file,
                ...(await verifyAudio({ database, blobs, provenance, config, watermarking }, source)),
              });
            } catch (err) {
              if (!(err instanceof AudioInputError)) throw err;
              const problem = err.toApiError();
              json({ file, error: { code: problem.code, status: problem.status, detail: problem.detail } });
              failures++;
            }
          }
        },
        { readOnly: true },
      );
      if (failures > 0) process.exitCode = 1;
    });
}
