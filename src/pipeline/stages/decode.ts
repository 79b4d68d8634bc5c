import { DECODER_LIBRARIES } from "../../audio/decode/index.js";
import type { Stage } from "../stage.js";

/**
 * Decodes the whole upload once, end to end. This is where corrupt frames in the middle, truncation and
 * over-long audio are found (as AudioInputErrors, which fail the upload with their code); what it reports is
 * what the audio really is, whatever the container claimed.
 */
export const decodeStage: Stage<"decode"> = {
  name: "decode",
  version: "decode-1",
  async run({ audio }) {
    let frames = 0;
    let sampleRate = audio.probe.sampleRate;
    let channels = audio.probe.channels;
    for await (const chunk of audio.read()) {
      frames += chunk.channels[0]?.length ?? 0;
      sampleRate = chunk.sampleRate;
      channels = chunk.channels.length;
    }
    return {
      format: audio.probe.format,
      codec: audio.probe.codec,
      sampleRate,
      channels,
      bitDepth: audio.probe.bitDepth,
      durationS: frames / sampleRate,
      frames,
      decoder: DECODER_LIBRARIES[audio.probe.format],
    };
  },
};
