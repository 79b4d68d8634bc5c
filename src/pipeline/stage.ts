import type { Logger } from "pino";
import type { ByteSource } from "../audio/bytes.js";
import { decodeAudio, type PcmChunk } from "../audio/decode/index.js";
import type { AudioProbe } from "../audio/format.js";
import type { UploadMetadata } from "../uploads/metadata.js";
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

/** The upload's audio, decoded on demand as a stream of chunks; each `read()` starts from the beginning. */
export interface AudioSource {
  probe: AudioProbe;
  read(): AsyncIterable<PcmChunk>;
}

export interface StageInput {
  upload: UploadFacts;
  audio: AudioSource;
  /** Signals of the stages that ran before this one. */
  signals: Partial<Signals>;
}

export interface StageContext {
  signal: AbortSignal;
  logger: Logger;
  limits: { maxDurationS: number };
}

/**
 * One analysis step: audio and facts in, one typed signal out. Stages do no I/O besides reading the audio
 * they are given, and never touch the database: the orchestrator persists what they return.
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
