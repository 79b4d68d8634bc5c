/**
 * Payload coding: 64-bit payload + 32-bit keyed MAC (HMAC-SHA256, truncated), protected by a
 * rate-1/3, constraint-length-7 convolutional code with a zero tail, decoded by a soft-decision
 * Viterbi decoder. The MAC is the integrity check behind the false-positive bound (ADR 0010).
 */
import { createHmac } from "node:crypto";

export const PAYLOAD_BYTES = 8;
export const MAC_BITS = 32;
export const INFO_BITS = PAYLOAD_BYTES * 8 + MAC_BITS;
const K = 7;
const TAIL = K - 1;
/** Generator polynomials (octal 133, 171, 165): the common rate-1/3 K = 7 code, free distance 15. */
const POLYS = [0o133, 0o171, 0o165];
export const CODED_BITS = (INFO_BITS + TAIL) * POLYS.length;
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
  const info = [...bytesToBits(payload), ...bytesToBits(macOf(macKey, payload)), ...new Array(TAIL).fill(0)];
  const out = new Int8Array(CODED_BITS);
  let state = 0;
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

/** Soft-decision Viterbi decoding (positive soft value = symbol +1), then the MAC check. */
export function decodePayload(macKey: Uint8Array, soft: Float64Array): DecodedPayload {
  const steps = INFO_BITS + TAIL;
  let metric = new Float64Array(STATES).fill(Number.NEGATIVE_INFINITY);
  let next = new Float64Array(STATES);
  metric[0] = 0;
  const back = new Uint8Array(steps * STATES);
  for (let t = 0; t < steps; t++) {
    next.fill(Number.NEGATIVE_INFINITY);
    const s0 = soft[t * 3] as number;
    const s1 = soft[t * 3 + 1] as number;
    const s2 = soft[t * 3 + 2] as number;
    const maxBit = t < INFO_BITS ? 1 : 0;
    for (let s = 0; s < STATES; s++) {
      const m = metric[s] as number;
      if (m === Number.NEGATIVE_INFINITY) continue;
      for (let b = 0; b <= maxBit; b++) {
        const o = (s * 2 + b) * 3;
        const cand =
          m + (BRANCH[o] as number) * s0 + (BRANCH[o + 1] as number) * s1 + (BRANCH[o + 2] as number) * s2;
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
  const bits = new Uint8Array(steps);
  let state = 0;
  for (let t = steps - 1; t >= 0; t--) {
    bits[t] = (state >> (K - 2)) & 1;
    const low = back[t * STATES + state] as number;
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
