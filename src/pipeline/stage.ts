import type { Logger } from "pino";
import type { ByteSource } from "../audio/bytes.js";
import { decodeAudio, type PcmChunk } from "../audio/decode/index.js";
import type { AudioProbe } from "../audio/format.js";
import type { Fingerprint, MatchOf, StoredMatchKey } from "../fingerprint/index.js";
import type { Provenance } from "../provenance/service.js";
import type { UploadMetadata } from "../uploads/metadata.js";
import type { WatermarkDetection } from "../watermark/index.js";
import type { WatermarkLink } from "../watermark/store.js";
import type { SignalName, Signals } from "./signals.js";

/** What a stage may know about the upload besides its audio. */
export interface UploadFacts {
  id: string;
  accountId: string;
  metadata: UploadMetadata;
  sha256: string;
  sizeBytes: number;
  probe: AudioProbe;
}

/**
 * The upload's audio as a stream of decoded chunks; each `read()` starts from the beginning. In the pipeline
 * the first `read()` is a share of one decode all stages run over together; read once if you can.
 */
export interface AudioSource {
  probe: AudioProbe;
  read(): AsyncIterable<PcmChunk>;
}

export interface StageInput {
  upload: UploadFacts;
  audio: AudioSource;
  /** The stored bytes as uploaded, for stages that read the container rather than the audio (provenance). */
  source: ByteSource;
  /**
   * Signals stored before this pass (the account context, or stages a retry does not run again). Stages run
   * together over one decode, so a stage never sees another stage's signal from the same pass.
   */
  signals: Partial<Signals>;
}

/**
 * What a stage may ask of the catalogue of earlier uploads: the fingerprint stage matches against the
 * index and adds the upload to it. The only database access a stage has.
 */
export interface Catalogue {
  matchFingerprint(fp: Fingerprint, opts: { excludeUploadId: string }): Promise<MatchOf<StoredMatchKey>[]>;
  storeFingerprint(upload: StoredMatchKey, fp: Fingerprint): Promise<void>;
}

/** What a stage may ask of provenance: the upload's embedded C2PA manifest, validated. */
export type ProvenanceReader = Pick<Provenance, "read">;

/** What a stage may ask about Earmark's own watermark: blind detection with the deployment key, and the link. */
export interface WatermarkReader {
  detect(audio: AsyncIterable<PcmChunk>, signal?: AbortSignal): Promise<WatermarkDetection>;
  /** The upload a detected payload was embedded for, or null when none of this database's renditions has it. */
  link(payload: Uint8Array): Promise<WatermarkLink | null>;
}

export interface StageContext {
  signal: AbortSignal;
  logger: Logger;
  limits: { maxDurationS: number };
  catalogue: Catalogue;
  provenance: ProvenanceReader;
  watermarks: WatermarkReader;
}

/**
 * One analysis step: audio and facts in, one typed signal out. Stages do no I/O besides reading the audio
 * they are given and the {@link Catalogue} port; the orchestrator persists the signals they return.
 */
export interface Stage<N extends SignalName = SignalName> {
  name: N;
  /** Bump when the signal's meaning changes; stored with every signal so decisions can be replayed. */
  version: string;
  run(input: StageInput, ctx: StageContext): Promise<Signals[N]>;
}

export function audioSourceFor(
  source: ByteSource,
  probe: AudioProbe,
  limits: { maxDurationS: number },
  signal?: AbortSignal,
): AudioSource {
  return {
    probe,
    async *read() {
      for await (const chunk of decodeAudio(source, probe, limits)) {
        signal?.throwIfAborted();
        yield chunk;
      }
    },
  };
}
