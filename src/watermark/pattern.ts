/**
 * The watermark's time–frequency layout and every keyed pseudo-random choice in it.
 *
 * The mark lives on a grid of cells: BANDS log-spaced bands between BAND_LO_HZ and BAND_HI_HZ, by
 * slots of SLOT_S seconds. A block is BLOCK_SLOTS slots long and repeats for the whole file. In each
 * block a keyed quarter of the cells carry a known ±1 pilot (for synchronisation) and the rest carry
 * the coded payload, each coded bit on exactly four cells scattered over the block (1,152 data cells,
 * 288 coded bits), each cell with a keyed sign. Embedding scales a cell's magnitudes by (1 + α·chip).
 */
import { createHmac } from "node:crypto";
import { CODED_BITS } from "./code.js";

export const BAND_LO_HZ = 550;
export const BAND_HI_HZ = 5500;
export const BANDS = 24;
export const SLOT_S = 0.1;
export const BLOCK_SLOTS = 64;
export const CELLS = BANDS * BLOCK_SLOTS;
export const PILOT_CELLS = CELLS / 4;
/** Detection resolves frequency in FINE bins per band so it can shift the band grid by fractions of a band. */
export const FINE_PER_BAND = 4;
/** Cells are compared with the same band's mean over ±CENTRE_SLOTS slots (embedder and detector alike). */
export const CENTRE_SLOTS = 4;
/**
 * Cell energies are floored at this fraction of the mean cell energy before taking logs, so silence
 * and empty bands (an 8 kHz source has nothing above 4 kHz) read as flat instead of as huge swings.
 */
export const ENERGY_FLOOR = 3e-3;
/** Fine bins kept either side of the band range so shifted bands still have data (±8 %). */
export const FINE_MARGIN = 4;
export const FINE_BINS = BANDS * FINE_PER_BAND + 2 * FINE_MARGIN;
export const BAND_RATIO = (BAND_HI_HZ / BAND_LO_HZ) ** (1 / BANDS);
export const FINE_RATIO = BAND_RATIO ** (1 / FINE_PER_BAND);

export interface KeyedPattern {
  /** Per cell (band * BLOCK_SLOTS + slot): +1/−1 pilot chip, 0 when the cell carries data. */
  pilot: Int8Array;
  /** Per cell: index of the coded bit it carries, −1 for pilot cells. */
  bitOf: Int16Array;
  /** Per cell: keyed sign applied to the coded bit. */
  sign: Int8Array;
  macKey: Uint8Array;
}

/** Deterministic keyed byte stream: HMAC-SHA256(key, label ‖ counter). */
function keyedBytes(key: Uint8Array, label: string, count: number): Uint8Array {
  const out = new Uint8Array(count);
  let filled = 0;
  for (let counter = 0; filled < count; counter++) {
    const block = createHmac("sha256", key).update(`${label}/${counter}`).digest();
    const take = Math.min(block.length, count - filled);
    out.set(block.subarray(0, take), filled);
    filled += take;
  }
  return out;
}

function keyedPermutation(key: Uint8Array, label: string, n: number): Uint32Array {
  const rnd = keyedBytes(key, label, n * 4);
  const view = new DataView(rnd.buffer);
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = view.getUint32(i * 4) % (i + 1);
    const t = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = t;
  }
  return perm;
}

const cache = new Map<string, KeyedPattern>();

export function keyedPattern(key: Uint8Array): KeyedPattern {
  const id = Buffer.from(key).toString("hex");
  const hit = cache.get(id);
  if (hit) return hit;
  const perm = keyedPermutation(key, "earmark-wm/cells", CELLS);
  const signs = keyedBytes(key, "earmark-wm/signs", CELLS);
  const pilot = new Int8Array(CELLS);
  const bitOf = new Int16Array(CELLS).fill(-1);
  const sign = new Int8Array(CELLS);
  for (let i = 0; i < CELLS; i++) {
    const cell = perm[i] as number;
    const s = ((signs[cell] as number) & 1) === 1 ? 1 : -1;
    if (i < PILOT_CELLS) pilot[cell] = s;
    else {
      bitOf[cell] = (i - PILOT_CELLS) % CODED_BITS;
      sign[cell] = s;
    }
  }
  const macKey = new Uint8Array(createHmac("sha256", key).update("earmark-wm/mac").digest());
  const p: KeyedPattern = { pilot, bitOf, sign, macKey };
  if (cache.size > 16) cache.clear();
  cache.set(id, p);
  return p;
}

/** Chip (±1) of every cell for a payload: the pilot, or the coded bit times the cell's sign. */
export function cellChips(pattern: KeyedPattern, code: Int8Array): Int8Array {
  const chips = new Int8Array(CELLS);
  for (let c = 0; c < CELLS; c++) {
    const b = pattern.bitOf[c] as number;
    chips[c] = b < 0 ? (pattern.pilot[c] as number) : (code[b] as number) * (pattern.sign[c] as number);
  }
  return chips;
}

/**
 * Writes the mono mix Σ x_c[i] / C of `channels` (each as long as `out`) into `out`: the signal both the
 * embedder and the detector analyse. Stereo, the usual input, takes one pass instead of two.
 */
export function mixToMono(channels: readonly Float32Array[], out: Float64Array): void {
  const inv = 1 / channels.length;
  const [first, second] = channels;
  if (!first) return;
  if (second && channels.length === 2) {
    for (let i = 0; i < out.length; i++) out[i] = (first[i] as number) * inv + (second[i] as number) * inv;
    return;
  }
  for (let i = 0; i < out.length; i++) out[i] = (first[i] as number) * inv;
  for (const x of channels.slice(1))
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + (x[i] as number) * inv;
}

/** STFT frame length for a sample rate: the power of two nearest to 46 ms. */
export function frameSize(sampleRate: number): number {
  return 2 ** Math.round(Math.log2(sampleRate * 0.0464));
}

/** Band (0…BANDS−1) of an FFT bin's frequency, or −1 outside the marked range. */
export function bandOfHz(hz: number): number {
  if (hz < BAND_LO_HZ || hz >= BAND_HI_HZ) return -1;
  return Math.min(BANDS - 1, Math.floor(Math.log(hz / BAND_LO_HZ) / Math.log(BAND_RATIO)));
}
