/**
 * Verifying a file found elsewhere: what its own Content Credentials say, and — when they were stripped by a
 * re-encode — which distributed Earmark rendition it is, found by fingerprint, with that rendition's signed
 * manifest. The soft-binding idea of C2PA (find the manifest from the content itself), for audio.
 *
 * @module
 */

import { and, desc, eq, inArray } from "drizzle-orm";
import type { ByteSource } from "../audio/bytes.js";
import { decodeAudio } from "../audio/decode/index.js";
import { AUDIO_FORMATS } from "../audio/format.js";
import { openAudio } from "../audio/open.js";
import { decisions, renditions, uploads } from "../db/schema/index.js";
import type { Deps } from "../deps.js";
import { FINGERPRINT_ALGORITHM, fingerprintChunks } from "../fingerprint/index.js";
import { lookupFingerprint, signalMatch } from "../fingerprint/store.js";
import { PcmBroadcast } from "../pipeline/broadcast.js";
import type { FingerprintSignal } from "../pipeline/signals.js";
import { detectWatermark } from "../watermark/index.js";
import { linkWatermark } from "../watermark/store.js";
import type { ManifestStoreJson, ProvenanceRead } from "./c2pa/read.js";

/** A fingerprint match as verify reports it: which upload and how, never whose (the account is left out). */
export type VerifiedMatch = Omit<FingerprintSignal["matches"][number], "accountId">;

/** A distributed upload the file was recognised as, with the credentials Earmark signed for it. */
export interface RecoveredUpload {
  uploadId: string;
  /**
   * How it was found: `watermark` — the file carries the watermark id of this upload's rendition;
   * `fingerprint` — its fingerprint matched this upload as the same recording.
   */
  foundBy: "watermark" | "fingerprint";
  /** The fingerprint match with this upload, when there is one. */
  match: VerifiedMatch | null;
  decision: { action: "allow" | "label"; labels: string[]; decidedAt: string };
  /** The rendition's manifest store as signed at distribution, validated now; null if it carries none. */
  manifest: { validation: ProvenanceRead; manifestStore: ManifestStoreJson } | null;
}

export interface VerifiedWatermark {
  found: boolean;
  /** The 64-bit watermark id, hex; null when none was found. */
  payload: string | null;
  confidence: number;
  ranges: { startS: number; endS: number }[];
  speedRatio: number | null;
}

export interface VerifyResult {
  /** The file's own C2PA manifest, validated against this server's trust anchors. */
  c2pa: ProvenanceRead;
  /** Earmark's watermark in the file (this deployment's key): the payload, where it was found, how sure. */
  watermark: VerifiedWatermark;
  fingerprint: { algorithmVersion: string; matches: VerifiedMatch[] };
  /** The distributed upload this file is, or null when it matches none. */
  upload: RecoveredUpload | null;
}

/**
 * Verifies audio bytes: reads their manifest, fingerprints them, and looks for a distributed rendition
 * (an upload decided `allow` or `label`, not removed) of the same recording. Only what a distributed file
 * already tells its listeners is returned about another account's upload: its id, the decision and labels,
 * and the signed manifest; never the account.
 */
export async function verifyAudio(
  deps: Pick<Deps, "database" | "blobs" | "provenance" | "config" | "watermarking">,
  source: ByteSource,
): Promise<VerifyResult> {
  const limits = { maxDurationS: deps.config.limits.maxDurationS };
  const probe = await openAudio(source, limits);
  const { signal: c2pa } = await deps.provenance.read(source, probe.format);
  // One decode read by both the watermark detector and the fingerprint.
  const pcm = new PcmBroadcast(decodeAudio(source, probe, limits)[Symbol.asyncIterator](), 2);
  const [detection, fp] = await Promise.all([
    detectWatermark(pcm.reader(0), { key: deps.watermarking.key }),
    fingerprintChunks(pcm.reader(1)),
  ]);
  const watermark: VerifiedWatermark = {
    found: detection.found,
    payload: detection.payload ? Buffer.from(detection.payload).toString("hex") : null,
    confidence: detection.confidence,
    ranges: detection.ranges,
    speedRatio: detection.speedRatio,
  };
  const matches = (await lookupFingerprint(deps.database.db, fp)).map((m) => {
    const { accountId: _whose, ...match } = signalMatch(m);
    return match;
  });
  const fingerprint = { algorithmVersion: FINGERPRINT_ALGORITHM, matches: matches.slice(0, 5) };
  const same = matches.filter((m) => m.verdict === "same-recording");
  // The watermark names one rendition exactly; the fingerprint finds the recording. The mark goes first.
  const marked = detection.payload ? await linkWatermark(deps.database.db, detection.payload) : null;
  const candidates: Candidate[] = [
    ...(marked
      ? [
          {
            uploadId: marked.uploadId,
            foundBy: "watermark" as const,
            match: same.find((m) => m.uploadId === marked.uploadId) ?? null,
          },
        ]
      : []),
    ...same.map((match) => ({ uploadId: match.uploadId, foundBy: "fingerprint" as const, match })),
  ];
  return { c2pa, watermark, fingerprint, upload: await distributed(deps, candidates) };
}

type Candidate = Pick<RecoveredUpload, "uploadId" | "foundBy" | "match">;

/** The first of the candidates (in order) that Earmark distributed, with its signed credentials. */
async function distributed(
  deps: Pick<Deps, "database" | "blobs" | "provenance">,
  same: Candidate[],
): Promise<RecoveredUpload | null> {
  if (same.length === 0) return null;
  const db = deps.database.db;
  const rows = await db
    .select({ id: uploads.id, rendition: renditions })
    .from(uploads)
    .innerJoin(renditions, eq(renditions.uploadId, uploads.id))
    .where(
      and(
        inArray(
          uploads.id,
          same.map((m) => m.uploadId),
        ),
        eq(uploads.status, "decided"),
      ),
    );
  for (const candidate of same) {
    const row = rows.find((r) => r.id === candidate.uploadId);
    if (!row) continue;
    const [decision] = await db
      .select()
      .from(decisions)
      .where(eq(decisions.uploadId, row.id))
      .orderBy(desc(decisions.createdAt))
      .limit(1);
    if (!decision || (decision.action !== "allow" && decision.action !== "label")) continue;
    const format = AUDIO_FORMATS.find((f) => f === row.rendition.format);
    const blob = format ? await deps.blobs.open(row.rendition.blobKey) : null;
    const read = format && blob ? await deps.provenance.read(blob, format) : null;
    return {
      uploadId: row.id,
      foundBy: candidate.foundBy,
      match: candidate.match,
      decision: {
        action: decision.action,
        labels: decision.labels,
        decidedAt: decision.createdAt.toISOString(),
      },
      manifest: read?.store ? { validation: read.signal, manifestStore: read.store } : null,
    };
  }
  return null;
}
