import { AudioInputError } from "../../errors.js";
import type { ByteSource } from "../bytes.js";
import { type AudioFormat, type AudioProbe, MAX_CHANNELS, SAMPLE_RATE_RANGE } from "../format.js";
import { probeFlac } from "./flac.js";
import { probeAdts, probeMp3 } from "./mp3.js";
import { probeMp4 } from "./mp4.js";
import { probeOgg } from "./ogg.js";
import { probeWav } from "./wav.js";

const PROBES: Record<AudioFormat, (src: ByteSource) => Promise<AudioProbe>> = {
  wav: probeWav,
  mp3: probeMp3,
  flac: probeFlac,
  "ogg-vorbis": probeOgg,
  "ogg-opus": probeOgg,
  m4a: probeMp4,
  aac: probeAdts,
};

export interface ProbeLimits {
  maxDurationS: number;
}

/**
 * Reads the container headers of stored audio (never the samples) and checks them against the limits, so
 * absurd or truncated files are refused at upload time, before anything is decoded or allocated.
 */
export async function probeAudio(
  src: ByteSource,
  format: AudioFormat,
  limits: ProbeLimits,
): Promise<AudioProbe> {
  const probe = await PROBES[format](src);
  checkAudioLimits(probe, limits);
  return probe;
}

export function checkAudioLimits(probe: AudioProbe, limits: ProbeLimits): void {
  const { min, max } = SAMPLE_RATE_RANGE;
  if (probe.sampleRate < min || probe.sampleRate > max)
    throw new AudioInputError(
      "unsupported-sample-rate",
      `The sample rate is ${probe.sampleRate} Hz; Earmark accepts ${min}–${max} Hz.`,
    );
  if (probe.channels < 1 || probe.channels > MAX_CHANNELS)
    throw new AudioInputError(
      "unsupported-channel-count",
      `The audio has ${probe.channels} channels; Earmark accepts 1–${MAX_CHANNELS}.`,
    );
  const estimate =
    typeof probe.details.estimatedDurationS === "number" ? probe.details.estimatedDurationS : null;
  // An exact declared duration is held to the limit; a bitrate guess only when it is far over.
  if ((probe.durationS ?? 0) > limits.maxDurationS || (estimate ?? 0) > limits.maxDurationS * 1.5) {
    const d = probe.durationS ?? estimate ?? 0;
    throw new AudioInputError(
      "duration-too-long",
      `The audio lasts ${formatDuration(d)}; the limit is ${formatDuration(limits.maxDurationS)}.`,
    );
  }
}

export function formatDuration(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.round(s % 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${sec} s` : `${s.toFixed(1)} s`;
}
