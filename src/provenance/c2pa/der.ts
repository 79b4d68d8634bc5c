/**
 * The little DER (ITU-T X.690) an RFC 3161 time-stamp client needs: encode a request, walk a response.
 * Only definite lengths (DER has no other kind); tags are single-byte (universal or context-specific, which
 * is all RFC 3161 and CMS use).
 *
 * @module
 */

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  sequence: 0x30,
  set: 0x31,
  generalizedTime: 0x18,
  /** [0] constructed, as in `content [0] EXPLICIT` and `eContent [0] EXPLICIT`. */
  context0: 0xa0,
} as const;

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

/** One element: its tag, and where its content sits in `bytes`. */
export interface Der {
  tag: number;
  bytes: Uint8Array;
  /** Start of the whole element (tag byte) and of its content; end of its content (exclusive). */
  start: number;
  contentStart: number;
  end: number;
}

/** The element starting at `at` in `bytes`. */
export function readDer(bytes: Uint8Array, at = 0, limit = bytes.length): Der {
  if (at + 2 > limit) throw new DerError(`truncated element at byte ${at}`);
  const tag = bytes[at] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at byte ${at} is not supported`);
  let len = bytes[at + 1] as number;
  let contentStart = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError(`bad length at byte ${at}`);
    if (contentStart + n > limit) throw new DerError(`truncated length at byte ${at}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (bytes[contentStart + i] as number);
    contentStart += n;
  }
  const end = contentStart + len;
  if (end > limit) throw new DerError(`element at byte ${at} runs past its container`);
  return { tag, bytes, start: at, contentStart, end };
}

/** The elements inside a constructed element. */
export function children(el: Der): Der[] {
  const out: Der[] = [];
  for (let at = el.contentStart; at < el.end; ) {
    const c = readDer(el.bytes, at, el.end);
    out.push(c);
    at = c.end;
  }
  return out;
}

/** The element's content bytes. */
export const content = (el: Der): Uint8Array => el.bytes.subarray(el.contentStart, el.end);
/** The whole element, tag and length included. */
export const whole = (el: Der): Uint8Array => el.bytes.subarray(el.start, el.end);

/** Checks the tag and returns the element, or says what was expected where. */
export function expectTag(el: Der | undefined, tag: number, what: string): Der {
  if (!el) throw new DerError(`${what} is missing`);
  if (el.tag !== tag)
    throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${el.tag.toString(16)}`);
  return el;
}

/** Big-endian unsigned bytes as a bigint. */
export const unsignedBigint = (bytes: Uint8Array): bigint =>
  bytes.reduce((v, b) => (v << 8n) | BigInt(b), 0n);

/** A non-negative INTEGER's value as a bigint. */
export const integer = (el: Der): bigint => unsignedBigint(content(el));

/** An OBJECT IDENTIFIER as dotted text. */
export function oidText(el: Der): string {
  const c = content(el);
  const first = c[0] ?? 0;
  const arcs = [Math.min(2, Math.floor(first / 40)), first - 40 * Math.min(2, Math.floor(first / 40))];
  let v = 0;
  for (let i = 1; i < c.length; i++) {
    const b = c[i] as number;
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  return arcs.join(".");
}

/** A GeneralizedTime (`YYYYMMDDHHMMSS[.fff]Z`) as a Date. */
export function generalizedTime(el: Der): Date {
  const s = new TextDecoder().decode(content(el));
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(s);
  if (!m) throw new DerError(`bad GeneralizedTime "${s}"`);
  const ms = m[7] ? Math.round(Number(`0${m[7]}`) * 1000) : 0;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms));
}

/** Encodes one element. */
export function der(tag: number, ...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const lenBytes: number[] = [];
  if (len < 0x80) lenBytes.push(len);
  else {
    for (let v = len; v > 0; v = Math.floor(v / 256)) lenBytes.unshift(v % 256);
    lenBytes.unshift(0x80 | lenBytes.length);
  }
  const out = new Uint8Array(1 + lenBytes.length + len);
  out[0] = tag;
  out.set(lenBytes, 1);
  let at = 1 + lenBytes.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A non-negative INTEGER from big-endian magnitude bytes (a leading zero is added when the top bit is set). */
export function derUnsigned(magnitude: Uint8Array): Uint8Array<ArrayBuffer> {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return (m[0] ?? 0) & 0x80 ? der(TAG.integer, Uint8Array.of(0), m) : der(TAG.integer, m);
}

/** An OBJECT IDENTIFIER from dotted text. */
export function derOid(dotted: string): Uint8Array<ArrayBuffer> {
  const arcs = dotted.split(".").map(Number);
  const body: number[] = [40 * (arcs[0] ?? 0) + (arcs[1] ?? 0)];
  for (const arc of arcs.slice(2)) {
    const b: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) b.unshift(0x80 | (v & 0x7f));
    body.push(...b);
  }
  return der(TAG.oid, Uint8Array.from(body));
}
