import { createStatsAccumulator, STATS_VERSION } from "../../audio/stats.js";
import type { Stage } from "../stage.js";

/** Loudness (EBU R128), peaks, silence, clipping and spectral flatness, in one streaming pass. */
export const statsStage: Stage<"stats"> = {
  name: "stats",
  version: STATS_VERSION,
  async run({ audio, signals }) {
    const decoded = signals.decode;
    const acc = createStatsAccumulator(
      decoded?.sampleRate ?? audio.probe.sampleRate,
      decoded?.channels ?? audio.probe.channels,
    );
    for await (const chunk of audio.read()) acc.push(chunk.channels);
    return acc.finish();
  },
};
