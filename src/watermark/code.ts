/**
 * Payload coding: 64-bit payload + 32-bit keyed MAC (HMAC-SHA256, truncated), protected by a
 * rate-1/3, constraint-length-7 *tail-biting* convolutional code (the encoder starts in the state its
 * last six bits leave it in, so there is no tail and the code is circular: no position is weaker than
 * another), decoded by a maximum-likelihood soft-decision tail-biting Viterbi decoder. 96 information
 * bits give 288 coded bits, exactly a quarter of a block's 1,152 data cells: every coded bit gets four
 * cells. The MAC is the integrity check behind the false-positive bound (ADR 0010).
 */
import { createHmac } from "node:crypto";

export const PAYLOAD_BYTES = 8;
export const MAC_BITS = 32;
export const INFO_BITS = PAYLOAD_BYTES * 8 + MAC_BITS;
const K = 7;
/** Generator polynomials (octal 133, 171, 165): the common rate-1/3 K = 7 code, free distance 15. */
const POLYS = [0o133, 0o171, 0o165];
export const CODED_BITS = INFO_BITS * POLYS.length;
const STATES = 1 << (K - 1);

function parity(x: number): number {
  let v = x;
  v ^= v >> 4;
  v ^= v >> 2;
  v ^= v >> 1;
  return v & 1;
}

/** Output symbols (3 bits) for each (state, input bit) pair, as ±1 per coded bit (bit 0 → +1). */
const BRANCH = (() => {
  const table = new Int8Array(STATES * 2 * POLYS.length);
  for (let s = 0; s < STATES; s++) {
    for (let b = 0; b < 2; b++) {
      const reg = (b << (K - 1)) | s;
      for (let p = 0; p < POLYS.length; p++) {
        table[(s * 2 + b) * POLYS.length + p] = parity(reg & (POLYS[p] as number)) ? -1 : 1;
      }
    }
  }
  return table;
})();

const nextState = (s: number, b: number) => ((b << (K - 1)) | s) >> 1;

/** For each (state, input bit): which of the 8 output symbol patterns it emits (bit p set = symbol p is −1). */
const OUTPUT = (() => {
  const table = new Uint8Array(STATES * 2);
  for (let i = 0; i < STATES * 2; i++) {
    let o = 0;
    for (let p = 0; p < POLYS.length; p++) if ((BRANCH[i * POLYS.length + p] as number) < 0) o |= 1 << p;
    table[i] = o;
  }
  return table;
})();

export function macOf(macKey: Uint8Array, payload: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHmac("sha256", macKey)
      .update(payload)
      .digest()
      .subarray(0, MAC_BITS / 8),
  );
}

function bytesToBits(bytes: Uint8Array): number[] {
  const bits: number[] = [];
  for (const byte of bytes) for (let i = 7; i >= 0; i--) bits.push((byte >> i) & 1);
  return bits;
}

function bitsToBytes(bits: ArrayLike<number>, from: number, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count * 8; i++) {
    out[i >> 3] = ((out[i >> 3] as number) << 1) | ((bits[from + i] as number) & 1);
  }
  return out;
}

/** The coded symbols (±1, length CODED_BITS) for a payload under a MAC key. */
export function encodePayload(macKey: Uint8Array, payload: Uint8Array): Int8Array {
  const info = [...bytesToBits(payload), ...bytesToBits(macOf(macKey, payload))];
  const out = new Int8Array(CODED_BITS);
  // Tail-biting: start in the state the last K − 1 bits leave the register in, so it ends where it began.
  let state = 0;
  for (let t = INFO_BITS - (K - 1); t < INFO_BITS; t++) state = nextState(state, info[t] as number);
  info.forEach((b, t) => {
    for (let p = 0; p < POLYS.length; p++)
      out[t * POLYS.length + p] = BRANCH[(state * 2 + b) * POLYS.length + p] as number;
    state = nextState(state, b);
  });
  return out;
}

export interface DecodedPayload {
  payload: Uint8Array;
  macValid: boolean;
  /** Normalised correlation of the soft input with the re-encoded codeword, in [−1, 1]. */
  agreement: number;
}

/**
 * Viterbi from one start state (or from all, start < 0): the final metric of every end state, and the
 * predecessor bits for the traceback.
 */
function viterbiFrom(start: number, soft: Float64Array, back: Uint8Array): Float64Array {
  let metric = new Float64Array(STATES).fill(Number.NEGATIVE_INFINITY);
  let next = new Float64Array(STATES);
  const branch = new Float64Array(8);
  // start < 0: every start state at 0 (unconstrained), for the bound in decodePayload.
  if (start < 0) metric.fill(0);
  else metric[start] = 0;
  for (let t = 0; t < INFO_BITS; t++) {
    next.fill(Number.NEGATIVE_INFINITY);
    const s0 = soft[t * 3] as number;
    const s1 = soft[t * 3 + 1] as number;
    const s2 = soft[t * 3 + 2] as number;
    for (let o = 0; o < 8; o++) branch[o] = (o & 1 ? -s0 : s0) + (o & 2 ? -s1 : s1) + (o & 4 ? -s2 : s2);
    for (let s = 0; s < STATES; s++) {
      const m = metric[s] as number;
      if (m === Number.NEGATIVE_INFINITY) continue;
      for (let b = 0; b <= 1; b++) {
        const cand = m + (branch[OUTPUT[s * 2 + b] as number] as number);
        const ns = nextState(s, b);
        if (cand > (next[ns] as number)) {
          next[ns] = cand;
          // Remember the predecessor's lowest bit: with the bit entering at the top, it is what shifted out.
          back[t * STATES + ns] = s & 1;
        }
      }
    }
    [metric, next] = [next, metric];
  }
  return metric;
}

/**
 * Soft-decision tail-biting Viterbi decoding (positive soft value = symbol +1), then the MAC check.
 * Maximum likelihood: the best path over all 64 start states that ends in its own start state. It
 * yields one word, so one MAC check, whatever the number of start states tried.
 */
export function decodePayload(macKey: Uint8Array, soft: Float64Array): DecodedPayload {
  let back = new Uint8Array(INFO_BITS * STATES);
  // The unconstrained run bounds every tail-biting path ending in state s by its metric there, so start states
  // are tried best bound first and the search stops once no bound beats the best path found: exact, and on a
  // clean mark usually one or two runs instead of 64.
  const bound = viterbiFrom(-1, soft, back);
  const order = Array.from({ length: STATES }, (_, s) => s).sort(
    (a, b) => (bound[b] as number) - (bound[a] as number),
  );
  let best = Number.NEGATIVE_INFINITY;
  let bestStart = 0;
  let bestBack = new Uint8Array(INFO_BITS * STATES);
  for (const start of order) {
    if ((bound[start] as number) <= best) break;
    const m = viterbiFrom(start, soft, back)[start] as number;
    if (m > best) {
      best = m;
      bestStart = start;
      [bestBack, back] = [back, bestBack];
    }
  }
  const bits = new Uint8Array(INFO_BITS);
  let state = bestStart;
  for (let t = INFO_BITS - 1; t >= 0; t--) {
    bits[t] = (state >> (K - 2)) & 1;
    const low = bestBack[t * STATES + state] as number;
    state = ((state << 1) & (STATES - 1)) | low;
  }
  const payload = bitsToBytes(bits, 0, PAYLOAD_BYTES);
  const mac = bitsToBytes(bits, PAYLOAD_BYTES * 8, MAC_BITS / 8);
  const expected = macOf(macKey, payload);
  const macValid = mac.every((v, i) => v === expected[i]);
  const code = encodePayload(macKey, payload);
  let dot = 0;
  let norm = 0;
  for (let i = 0; i < CODED_BITS; i++) {
    dot += (soft[i] as number) * (code[i] as number);
    norm += Math.abs(soft[i] as number);
  }
  return { payload, macValid, agreement: norm > 0 ? dot / norm : 0 };
}
