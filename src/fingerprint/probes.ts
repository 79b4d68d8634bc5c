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
  /** Index of each probe's triplet (0..triplets−1). */
  triplet: Uint32Array;
  triplets: number;
  /** Anchor frame of every triplet, by triplet index. */
  tripletFrames: Uint32Array;
}

function roundOptions(x: number, near: number): number[] {
  const r = Math.round(x);
  const off = x - r; // −0.5..0.5
  if (off > 0.5 - near) return [r, r + 1];
  if (off < -0.5 + near) return [r, r - 1];
  return [r];
}

function floorOptions(x: number, near: number, max: number): number[] {
  const f = Math.max(0, Math.min(max, Math.floor(x)));
  const off = x - Math.floor(x);
  const out = [f];
  if (off < near && f > 0) out.push(f - 1);
  if (off > 1 - near && f < max) out.push(f + 1);
  return out;
}

function dtOptions(dt: number): number[] {
  return [...new Set([dtLevel(dt), dtLevel(dt - 1), dtLevel(dt + 1)])];
}

function orderOptions(a: number, b: number, c: number): number[] {
  // Every order consistent with strengths perturbed by up to NEAR_ORDER_DB.
  const perms: [number, number, number, number][] = [
    [0, 0, 1, 2],
    [1, 0, 2, 1],
    [2, 2, 0, 1],
    [3, 1, 0, 2],
    [4, 1, 2, 0],
    [5, 2, 1, 0],
  ];
  // perms[i] = [code, first, second, third] as indices into (a, b, c) ordered loudest first, matching
  // extract.ts loudestOrder: 0 a≥b≥c, 1 a≥c>b, 2 c>a≥b, 3 b>a≥c, 4 b≥c>a, 5 c>b>a.
  const s = [a, b, c];
  const own = loudestOrder(a, b, c);
  const out: number[] = [own]; // the triplet's own cell comes first (store and candidate keys use it)
  for (const [code, x, y, z] of perms) {
    if (code === own) continue;
    if (
      (s[x] as number) + NEAR_ORDER_DB >= (s[y] as number) &&
      (s[y] as number) + NEAR_ORDER_DB >= (s[z] as number)
    ) {
      out.push(code);
    }
  }
  return out;
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
    const d12s = roundOptions(parts.d12, NEAR_SEMITONE);
    const d13s = roundOptions(parts.d13, NEAR_SEMITONE);
    const rs = floorOptions(parts.ratio * 8, NEAR_RATIO * 8, 7);
    const bands = floorOptions(parts.band, NEAR_BAND, 7);
    const dts = dtOptions(parts.dt);
    const orders = orderOptions(s1, s2, s3);
    let count = 0;
    outer: for (const d12 of d12s) {
      for (const d13 of d13s) {
        for (const r of rs) {
          for (const band of bands) {
            for (const dtl of dts) {
              for (const order of orders) {
                hashes.push(composeHash(d12, d13, r, band, dtl, order));
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
