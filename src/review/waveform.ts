import type { ByteSource } from "../audio/bytes.js";
import { decodeAudio } from "../audio/decode/index.js";
import type { AudioProbe } from "../audio/format.js";

export const WAVEFORM_COLUMNS = 800;
export const WAVEFORM_HEIGHT = 96;

/**
 * The peak envelope of a recording as an SVG picture: per column, the lowest and highest sample of the mono
 * mix, drawn as one path, with a tick every `tickS` seconds. Decodes the audio once, streaming.
 *
 * @example
 * const svg = await waveformSvg(source, probe, { frames: decode.frames, maxDurationS: 14400 });
 */
export async function waveformSvg(
  source: ByteSource,
  probe: AudioProbe,
  opts: { frames: number; durationS: number; maxDurationS: number },
): Promise<string> {
  const perColumn = Math.max(1, Math.ceil(opts.frames / WAVEFORM_COLUMNS));
  const lo = new Float32Array(WAVEFORM_COLUMNS).fill(0);
  const hi = new Float32Array(WAVEFORM_COLUMNS).fill(0);
  let frame = 0;
  for await (const chunk of decodeAudio(source, probe, { maxDurationS: opts.maxDurationS })) {
    const n = chunk.channels[0]?.length ?? 0;
    const k = chunk.channels.length;
    for (let i = 0; i < n; i++, frame++) {
      let v = 0;
      for (let c = 0; c < k; c++) v += chunk.channels[c]![i]!;
      v /= k;
      const col = Math.min(WAVEFORM_COLUMNS - 1, Math.floor(frame / perColumn));
      if (v < lo[col]!) lo[col] = v;
      if (v > hi[col]!) hi[col] = v;
    }
  }
  const mid = WAVEFORM_HEIGHT / 2;
  const y = (v: number) => (mid - Math.max(-1, Math.min(1, v)) * (mid - 2)).toFixed(1);
  let d = "";
  for (let x = 0; x < WAVEFORM_COLUMNS; x++) d += `M${x + 0.5} ${y(hi[x]!)}V${y(lo[x]!)}`;
  const seconds = Math.max(opts.durationS, 1e-3);
  const tickS = [1, 5, 10, 30, 60, 300, 600, 1800].find((t) => seconds / t <= 12) ?? 3600;
  let ticks = "";
  for (let t = tickS; t < seconds; t += tickS) {
    const x = ((t / seconds) * WAVEFORM_COLUMNS).toFixed(1);
    const label = t >= 60 ? `${Math.floor(t / 60)}:${String(t % 60).padStart(2, "0")}` : `${t}s`;
    ticks += `<line x1="${x}" x2="${x}" y1="0" y2="${WAVEFORM_HEIGHT}" stroke="#c8ccd4" stroke-width="1"/><text x="${x}" y="${WAVEFORM_HEIGHT - 3}" font-size="10" font-family="sans-serif" fill="#666" dx="2">${label}</text>`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WAVEFORM_COLUMNS} ${WAVEFORM_HEIGHT}" width="${WAVEFORM_COLUMNS}" height="${WAVEFORM_HEIGHT}" preserveAspectRatio="none"><rect width="100%" height="100%" fill="#f5f6f8"/>${ticks}<line x1="0" x2="${WAVEFORM_COLUMNS}" y1="${mid}" y2="${mid}" stroke="#c8ccd4"/><path d="${d}" stroke="#0b5cad" stroke-width="1" fill="none"/></svg>`;
}
