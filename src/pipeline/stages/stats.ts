import { createStatsAccumulator, STATS_VERSION } from "../../audio/stats.js";
import type { Stage } from "../stage.js";

/** Loudness (EBU R128), peaks, silence, clipping and spectral flatness, in one streaming pass. */
export const statsStage: Stage<"stats"> = {
  name: "stats",
  version: STATS_VERSION,
  async run({ audio }) {
    // The decoded stream's own rate and channel count (it runs beside the decode stage, not after it).
    let acc: ReturnType<typeof createStatsAccumulator> | null = null;
    for await (const chunk of audio.read()) {
      acc ??= createStatsAccumulator(chunk.sampleRate, chunk.channels.length);
      acc.push(chunk.channels);
    }
    return (acc ?? createStatsAccumulator(audio.probe.sampleRate, audio.probe.channels)).finish();
  },
};
