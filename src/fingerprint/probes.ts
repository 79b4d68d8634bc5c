/**
 * Query-side hashes. A stored hash is one quantised cell per triplet; a query triplet whose quantities
 * lie near a cell edge also probes the neighbouring cell, so that a small change (a peak moved by a few
 * cents, a frame) does not lose the match. Only queries do this, so the index stays one hash per triplet.
 *
 * @module
 */

import { composeHash, dtLevel, forEachTriplet, loudestOrder, type Peak, packTime } from "./extract.js";

/** How close to a cell edge (in that quantity's units) a value must be to probe the neighbour. */
const NEAR_SEMITONE = 0.2;
const NEAR_RATIO = 0.02;
const NEAR_BAND = 0.1;
const NEAR_ORDER_DB = 1;
const MAX_PROBES = 16;

export interface QueryProbes {
  /** Probe hash values; several per triplet. */
  hashes: Uint32Array;
  /** Packed anchor frame and span (see extract.ts `packTime`) of each probe's triplet. */
  times: Uint32Array;
  /** Index of each probe's triplet (0..triplets−1): non-decreasing, a triplet's probes are consecutive. */
  triplet: Uint32Array;
  triplets: number;
  /** Anchor frame of every triplet, by triplet index. */
  tripletFrames: Uint32Array;
}

/**
 * The options of each quantity of one triplet, written into small reused arrays (one triplet at a time, so
 * no arrays are allocated per triplet); each function returns how many it wrote, the triplet's own value
 * first.
 */
const D12 = new Int32Array(2);
const D13 = new Int32Array(2);
const RATIOS = new Int32Array(3);
const BANDS = new Int32Array(3);
const DTS = new Int32Array(3);
const ORDERS = new Int32Array(6);

function roundOptions(x: number, near: number, out: Int32Array): number {
  const r = Math.round(x);
  const off = x - r; // −0.5..0.5
  out[0] = r;
  if (off > 0.5 - near) {
    out[1] = r + 1;
    return 2;
  }
  if (off < -0.5 + near) {
    out[1] = r - 1;
    return 2;
  }
  return 1;
}

function floorOptions(x: number, near: number, max: number, out: Int32Array): number {
  const f = Math.max(0, Math.min(max, Math.floor(x)));
  const off = x - Math.floor(x);
  let n = 0;
  out[n++] = f;
  if (off < near && f > 0) out[n++] = f - 1;
  if (off > 1 - near && f < max) out[n++] = f + 1;
  return n;
}

/** The levels of dt, dt − 1 and dt + 1, each once, in that order. */
function dtOptions(dt: number, out: Int32Array): number {
  const own = dtLevel(dt);
  const shorter = dtLevel(dt - 1);
  const longer = dtLevel(dt + 1);
  let n = 0;
  out[n++] = own;
  if (shorter !== own) out[n++] = shorter;
  if (longer !== own && longer !== shorter) out[n++] = longer;
  return n;
}

/**
 * perms[i] = [code, first, second, third] as indices into (a, b, c) ordered loudest first, matching
 * extract.ts loudestOrder: 0 a≥b≥c, 1 a≥c>b, 2 c>a≥b, 3 b>a≥c, 4 b≥c>a, 5 c>b>a.
 */
const PERMS: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 1, 2],
  [1, 0, 2, 1],
  [2, 2, 0, 1],
  [3, 1, 0, 2],
  [4, 1, 2, 0],
  [5, 2, 1, 0],
];

/** Every order consistent with strengths perturbed by up to NEAR_ORDER_DB, the triplet's own first. */
function orderOptions(a: number, b: number, c: number, out: Int32Array): number {
  const own = loudestOrder(a, b, c);
  let n = 0;
  out[n++] = own; // the triplet's own cell comes first (store and candidate keys use it)
  for (const [code, x, y, z] of PERMS) {
    if (code === own) continue;
    const sx = x === 0 ? a : x === 1 ? b : c;
    const sy = y === 0 ? a : y === 1 ? b : c;
    const sz = z === 0 ? a : z === 1 ? b : c;
    if (sx + NEAR_ORDER_DB >= sy && sy + NEAR_ORDER_DB >= sz) out[n++] = code;
  }
  return n;
}

/** A typed array that grows by doubling; `view()` is the filled part. */
class Growing {
  private a = new Uint32Array(4096);
  length = 0;
  push(x: number): void {
    if (this.length === this.a.length) {
      const b = new Uint32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = x;
  }
  view(): Uint32Array {
    return this.a.subarray(0, this.length);
  }
}

/** Every probe of every triplet of `peaks`. */
export function queryProbes(peaks: readonly Peak[]): QueryProbes {
  const hashes = new Growing();
  const times = new Growing();
  const triplet = new Growing();
  const tripletFrames = new Growing();
  let n = 0;
  forEachTriplet(peaks, (parts, t1, s1, s2, s3) => {
    const packed = packTime(t1, Math.min(63, parts.dt));
    const n12 = roundOptions(parts.d12, NEAR_SEMITONE, D12);
    const n13 = roundOptions(parts.d13, NEAR_SEMITONE, D13);
    const nr = floorOptions(parts.ratio * 8, NEAR_RATIO * 8, 7, RATIOS);
    const nb = floorOptions(parts.band, NEAR_BAND, 7, BANDS);
    const nd = dtOptions(parts.dt, DTS);
    const no = orderOptions(s1, s2, s3, ORDERS);
    let count = 0;
    outer: for (let i12 = 0; i12 < n12; i12++) {
      for (let i13 = 0; i13 < n13; i13++) {
        for (let ir = 0; ir < nr; ir++) {
          for (let ib = 0; ib < nb; ib++) {
            for (let id = 0; id < nd; id++) {
              for (let io = 0; io < no; io++) {
                hashes.push(
                  composeHash(
                    D12[i12] as number,
                    D13[i13] as number,
                    RATIOS[ir] as number,
                    BANDS[ib] as number,
                    DTS[id] as number,
                    ORDERS[io] as number,
                  ),
                );
                times.push(packed);
                triplet.push(n);
                if (++count >= MAX_PROBES) break outer;
              }
            }
          }
        }
      }
    }
    tripletFrames.push(t1);
    n++;
  });
  return {
    hashes: hashes.view(),
    times: times.view(),
    triplet: triplet.view(),
    triplets: n,
    tripletFrames: tripletFrames.view(),
  };
}
