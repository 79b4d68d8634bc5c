/**
 * RFC 3161 time stamps for C2PA signatures. A time stamp from a time-stamp authority (TSA) proves that the
 * signature existed at that time, so a manifest stays valid after its signing certificate expires. Earmark
 * asks the TSA configured in `EARMARK_C2PA_TSA_URL` over HTTP (RFC 3161 §3.4: a DER `TimeStampReq` posted as
 * `application/timestamp-query`), checks the answer against what it asked (status, message imprint,
 * nonce), and hands the token to the COSE builder, which stores it in the `sigTst2` header (C2PA 2.x). The
 * TSA's signature and certificate are checked by c2pa-rs when the signed file is read back.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import {
  children,
  content,
  type Der,
  DerError,
  der,
  derOid,
  derUnsigned,
  expectTag,
  generalizedTime,
  integer,
  oidText,
  readDer,
  TAG,
  unsignedBigint,
  whole,
} from "./der.js";
import { postBytes } from "./post-bytes.js";

const SHA256 = "2.16.840.1.101.3.4.2.1";
const SIGNED_DATA = "1.2.840.113549.1.7.2";
const TST_INFO = "1.2.840.113549.1.9.16.1.4";

/** A time-stamp token (CMS `ContentInfo`, DER) and the time it states. */
export interface TimeStampToken {
  der: Uint8Array;
  time: Date;
}

/** Whatever issues RFC 3161 time stamps: the HTTP client below, or anything else that can. */
export interface TimeStamper {
  /** Where the time stamps come from, for messages (a URL). */
  readonly name: string;
  /** A token over the SHA-256 of `message`. */
  stamp(message: Uint8Array): Promise<TimeStampToken>;
}

export class TimeStampError extends Error {
  constructor(tsa: string, reason: string) {
    super(`time-stamp authority ${tsa}: ${reason}`);
    this.name = "TimeStampError";
  }
}

/** PKIFailureInfo bit names (RFC 3161 §2.4.2). */
const FAILURES: Record<number, string> = {
  0: "badAlg (unrecognised or unsupported algorithm)",
  2: "badRequest (transaction not permitted or supported)",
  5: "badDataFormat (the data submitted has the wrong format)",
  14: "timeNotAvailable (the TSA's time source is not available)",
  15: "unacceptedPolicy (the requested TSA policy is not supported)",
  16: "unacceptedExtension (the requested extension is not supported)",
  17: "addInfoNotAvailable (the additional information requested is not available)",
  25: "systemFailure (the request cannot be handled due to system failure)",
};

/** The DER `TimeStampReq` for a SHA-256 imprint, asking for the TSA's certificate in the token. */
export function timeStampRequest(digest: Uint8Array, nonce: Uint8Array): Uint8Array<ArrayBuffer> {
  return der(
    TAG.sequence,
    der(TAG.integer, Uint8Array.of(1)),
    der(TAG.sequence, der(TAG.sequence, derOid(SHA256), der(TAG.null)), der(TAG.octetString, digest)),
    derUnsigned(nonce),
    der(TAG.boolean, Uint8Array.of(0xff)),
  );
}

/**
 * Reads a DER `TimeStampResp` and returns its token, after checking that it was granted and that it stamps
 * `digest` with `nonce`. Throws {@link TimeStampError} saying what is wrong.
 */
export function parseTimeStampResponse(
  body: Uint8Array,
  expected: { digest: Uint8Array; nonce: Uint8Array },
  tsa: string,
): TimeStampToken {
  try {
    const resp = children(expectTag(readDer(body), TAG.sequence, "TimeStampResp"));
    const status = children(expectTag(resp[0], TAG.sequence, "PKIStatusInfo"));
    const code = Number(integer(expectTag(status[0], TAG.integer, "PKIStatus")));
    if (code !== 0 && code !== 1) {
      const texts = status
        .filter((s) => s.tag === TAG.sequence)
        .flatMap(children)
        .map((t) => new TextDecoder().decode(content(t)));
      const failBits = status.find((s) => s.tag === TAG.bitString);
      const failures = failBits ? failureNames(failBits) : [];
      throw new TimeStampError(
        tsa,
        `request refused (PKIStatus ${code}${[...failures, ...texts].length ? `: ${[...failures, ...texts].join("; ")}` : ""})`,
      );
    }
    const token = expectTag(resp[1], TAG.sequence, "timeStampToken");
    const info = tstInfoOf(token);
    const [, , imprintEl, , timeEl, ...rest] = children(expectTag(info, TAG.sequence, "TSTInfo"));
    const [algEl, hashEl] = children(expectTag(imprintEl, TAG.sequence, "messageImprint"));
    const alg = oidText(
      expectTag(children(expectTag(algEl, TAG.sequence, "hashAlgorithm"))[0], TAG.oid, "OID"),
    );
    if (alg !== SHA256)
      throw new TimeStampError(tsa, `the token stamps a ${alg} digest, not the SHA-256 sent`);
    if (!equalBytes(content(expectTag(hashEl, TAG.octetString, "hashedMessage")), expected.digest))
      throw new TimeStampError(tsa, "the token stamps another message than the one sent");
    const nonceEl = rest.find((e) => e.tag === TAG.integer);
    if (!nonceEl || integer(nonceEl) !== unsignedBigint(expected.nonce))
      throw new TimeStampError(
        tsa,
        "the token does not carry the request's nonce (a replayed or mixed-up answer)",
      );
    return {
      der: new Uint8Array(whole(token)),
      time: generalizedTime(expectTag(timeEl, TAG.generalizedTime, "genTime")),
    };
  } catch (err) {
    if (err instanceof DerError)
      throw new TimeStampError(tsa, `the answer is not a DER TimeStampResp (${err.message})`);
    throw err;
  }
}

/** ContentInfo → SignedData → encapContentInfo → eContent (OCTET STRING) → TSTInfo. */
function tstInfoOf(token: Der): Der {
  const [typeEl, wrapped] = children(token);
  if (oidText(expectTag(typeEl, TAG.oid, "contentType")) !== SIGNED_DATA)
    throw new DerError("the token is not CMS SignedData");
  const signedData = children(
    expectTag(children(expectTag(wrapped, TAG.context0, "content"))[0], TAG.sequence, "SignedData"),
  );
  const encap = children(expectTag(signedData[2], TAG.sequence, "encapContentInfo"));
  if (oidText(expectTag(encap[0], TAG.oid, "eContentType")) !== TST_INFO)
    throw new DerError("the token's content is not a TSTInfo");
  const octets = expectTag(
    children(expectTag(encap[1], TAG.context0, "eContent"))[0],
    TAG.octetString,
    "eContent",
  );
  return readDer(octets.bytes, octets.contentStart, octets.end);
}

function failureNames(bits: Der): string[] {
  const c = content(bits);
  const names: string[] = [];
  for (let i = 1; i < c.length; i++)
    for (let b = 0; b < 8; b++)
      if ((c[i] as number) & (0x80 >> b))
        names.push(FAILURES[(i - 1) * 8 + b] ?? `failure bit ${(i - 1) * 8 + b}`);
  return names;
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * A {@link TimeStamper} that asks an RFC 3161 TSA over HTTP(S).
 *
 * @example
 * const tsa = rfc3161TimeStamper({ url: "http://timestamp.example/tsa" });
 * const { der, time } = await tsa.stamp(bytes);
 */
export function rfc3161TimeStamper(opts: { url: string; timeoutMs?: number }): TimeStamper {
  const { url } = opts;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return {
    name: url,
    async stamp(message) {
      const digest = new Uint8Array(createHash("sha256").update(message).digest());
      // A positive 64-bit nonce: the answer must echo it.
      const nonce = new Uint8Array(randomBytes(8));
      nonce[0] = ((nonce[0] as number) & 0x7f) | 0x01;
      const body = await postBytes(
        url,
        {
          body: timeStampRequest(digest, nonce),
          headers: { "content-type": "application/timestamp-query", accept: "application/timestamp-reply" },
          timeoutMs,
        },
        (reason) => new TimeStampError(url, reason),
      );
      return parseTimeStampResponse(body, { digest, nonce }, url);
    },
  };
}
