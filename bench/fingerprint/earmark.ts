/**
 * Earmark's own fingerprinter as a column of the evaluation table: the service's extraction (Earmark's
 * decoders, 4 kHz downsampling, Meyda spectra, triplet hashes) and its two-phase matching, over an
 * in-memory index instead of the database (the same code paths as store.ts after the lookup).
 *
 * `EARMARK_FP_DUMP=FILE` appends one JSON line per query with every match's figures, for tuning, and the time
 * the query's half-hop phase took (null when the first phase found a same recording and it was not needed),
 * and the matches of the query's own frame phase alone (`firstPhase`).
 */
import { appendFileSync } from "node:fs";
import { type Fingerprint, fingerprintFile, MemoryIndex } from "../../src/fingerprint/index.js";
import type { Fingerprinter, QueryMatch, ReferenceInput } from "./eval.js";

/** Bytes per stored hash: the 32-bit hash and the 32-bit packed time (see src/fingerprint/extract.ts). */
const BYTES_PER_HASH = 8;

export class EarmarkFingerprinter implements Fingerprinter {
  readonly name = "earmark";
  private readonly index_ = new MemoryIndex<string>();
  private readonly timings: { audioSeconds: number; wallSeconds: number }[] = [];
  private hashCount = 0;
  private readonly dump = process.env.EARMARK_FP_DUMP;

  private async extract(file: string): Promise<Fingerprint> {
    const t0 = performance.now();
    const fp = await fingerprintFile(file);
    this.timings.push({ audioSeconds: fp.durationS, wallSeconds: (performance.now() - t0) / 1000 });
    return fp;
  }

  async index(refs: ReferenceInput[]): Promise<void> {
    for (const ref of refs) {
      const fp = await this.extract(ref.file);
      this.index_.add(ref.id, fp);
      this.hashCount += fp.hashes.length;
    }
  }

  async query(file: string): Promise<QueryMatch[]> {
    const fp = await this.extract(file);
    // Whether the lookup needed the query's half-hop phase, and what computing it took (not in the extraction
    // timings: a lookup computes it only for queries the first phase does not settle).
    let halfHopMs: number | null = null;
    const halfHop = fp.halfHopPhase;
    if (halfHop) {
      fp.halfHopPhase = () => {
        const t0 = performance.now();
        const phase = halfHop();
        halfHopMs ??= performance.now() - t0;
        return phase;
      };
    }
    const matches = this.index_.match(fp);
    if (this.dump) {
      // The first phase's answer alone is what the lookup gave before it tried the half-hop phase.
      const firstPhase = this.index_.lookUp(fp);
      appendFileSync(this.dump, `${JSON.stringify({ file, halfHopMs, matches, firstPhase })}\n`);
    }
    return matches.map((m) => ({ id: m.key, verdict: m.verdict, score: m.score }));
  }

  indexBytes(): number {
    return this.hashCount * BYTES_PER_HASH;
  }

  extractionTimings(): { audioSeconds: number; wallSeconds: number }[] {
    return this.timings;
  }
}
