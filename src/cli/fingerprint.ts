import type { Command } from "commander";
import { type Fingerprint, fingerprintFile } from "../fingerprint/index.js";
import { lookupFingerprint, signalMatch } from "../fingerprint/store.js";
import { configFromEnv, json, readingFile, withDatabase } from "./context.js";

/** Fingerprints one file, turning unreadable input into a message that says what is wrong. */
function fingerprintOrExplain(file: string, maxDurationS: number): Promise<Fingerprint> {
  return readingFile(file, () => fingerprintFile(file, { maxDurationS }));
}

/** `earmark fingerprint FILE…` and `earmark match FILE…`. */
export function registerFingerprintCommands(program: Command): void {
  program
    .command("fingerprint <files...>")
    .description("Fingerprint audio files and print a summary line per file (no database needed)")
    .action(async (files: string[]) => {
      const config = configFromEnv();
      for (const file of files) {
        const started = performance.now();
        const fp = await fingerprintOrExplain(file, config.limits.maxDurationS);
        const ms = performance.now() - started;
        json({
          file,
          algorithm: fp.algorithm,
          durationS: Math.round(fp.durationS * 100) / 100,
          peaks: fp.peaks,
          hashes: fp.hashes.length,
          hashesPerSecond: Math.round((fp.hashes.length / Math.max(fp.durationS, 1e-9)) * 10) / 10,
          extractionMs: Math.round(ms),
          realTime: Math.round(fp.durationS / (ms / 1000)),
        });
      }
    });

  program
    .command("match <files...>")
    .description(
      "Match audio files against every fingerprinted upload in the database (DATABASE_URL or the data directory)",
    )
    .action(async (files: string[]) => {
      const config = configFromEnv();
      // Fingerprint first, so a bad file is reported before the database is opened.
      const prints: { file: string; fp: Fingerprint }[] = [];
      for (const file of files)
        prints.push({ file, fp: await fingerprintOrExplain(file, config.limits.maxDurationS) });
      await withDatabase(
        config,
        "match",
        async ({ db }) => {
          for (const { file, fp } of prints) {
            const matches = await lookupFingerprint(db, fp);
            json({
              file,
              matches: matches.map(signalMatch),
            });
          }
        },
        { readOnly: true },
      );
    });
}
