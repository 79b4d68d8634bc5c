import type { Logger } from "pino";
import type { ByteSource } from "../audio/bytes.js";
import type { AudioProbe } from "../audio/format.js";
import { PcmBroadcast } from "./broadcast.js";
import type { Signals } from "./signals.js";
import {
  type AudioSource,
  audioSourceFor,
  type Stage,
  type StageContext,
  type UploadFacts,
} from "./stage.js";

export type StageOutcome =
  | { stage: Stage; ok: true; data: unknown; durationMs: number }
  | { stage: Stage; ok: false; error: unknown; durationMs: number };

/**
 * Runs the given stages together over one decode of the audio (see {@link PcmBroadcast}): each stage's first
 * `audio.read()` is its share of that decode; a second `read()` decodes again, for that stage alone. Every
 * stage sees the `signals` stored before this pass. Returns one outcome per stage, in the order given; a
 * stage's failure does not stop the others.
 */
export async function analyseTogether(
  stages: readonly Stage[],
  input: {
    upload: UploadFacts;
    source: ByteSource;
    probe: AudioProbe;
    signals: Partial<Signals>;
  },
  ctx: Omit<StageContext, "logger"> & { logger: Logger },
): Promise<StageOutcome[]> {
  if (stages.length === 0) return [];
  const decode = () => audioSourceFor(input.source, input.probe, ctx.limits, ctx.signal);
  const broadcast = new PcmBroadcast(decode().read()[Symbol.asyncIterator](), stages.length);
  const started = performance.now();
  return Promise.all(
    stages.map(async (stage, i): Promise<StageOutcome> => {
      let shared = true;
      const audio: AudioSource = {
        probe: input.probe,
        read() {
          if (!shared) return decode().read();
          shared = false;
          return broadcast.reader(i);
        },
      };
      try {
        const data = await stage.run(
          { upload: input.upload, audio, source: input.source, signals: input.signals },
          { ...ctx, logger: ctx.logger.child({ stage: stage.name }) },
        );
        return { stage, ok: true, data, durationMs: performance.now() - started };
      } catch (error) {
        return { stage, ok: false, error, durationMs: performance.now() - started };
      } finally {
        broadcast.done(i);
      }
    }),
  );
}
