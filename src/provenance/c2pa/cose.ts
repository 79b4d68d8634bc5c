import { Encoder, Tag } from "cbor-x";
import type { TimeStamper, TimeStampToken } from "./timestamp.js";

/**
 * CBOR as c2pa-rs parses it: plain maps (cbor-x would otherwise wrap a JS `Map` in tag 259, which c2pa-rs
 * cannot read and reports, misleadingly, as `CoseTimeStampGeneration`), byte strings without typed-array
 * tags, and no record extension.
 */
const cbor = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  useTag259ForMaps: false,
  tagUint8Array: false,
  variableMapSize: true,
} as ConstructorParameters<typeof Encoder>[0] & { useTag259ForMaps: boolean });

const encode = (value: unknown): Uint8Array => new Uint8Array(cbor.encode(value));

/** COSE algorithm identifiers (RFC 9053) of the signing algorithms c2pa-rs accepts. */
export const COSE_ALGORITHMS = {
  es256: -7,
  es384: -35,
  es512: -36,
  ps256: -37,
  ps384: -38,
  ps512: -39,
  ed25519: -8,
} as const;

export type SigningAlgorithm = keyof typeof COSE_ALGORITHMS;

const COSE_SIGN1_TAG = 18;
const HEADER_ALG = 1;
const HEADER_X5CHAIN = 33;

export interface CoseSign1Input {
  alg: SigningAlgorithm;
  /** DER certificates, leaf first, then intermediates (never the root). */
  certChainDer: readonly Uint8Array<ArrayBuffer>[];
  /** The claim bytes c2pa-rs hands the signer: the detached payload. */
  claim: Uint8Array;
  /** Signs the COSE `Sig_structure`; returns the raw signature (ECDSA as r‖s). */
  sign: (toBeSigned: Uint8Array) => Promise<Uint8Array>;
  /** The exact size c2pa-rs reserved for the signature box. */
  reserveSize: number;
  /** When set, the signature is time-stamped (RFC 3161) and the token stored in the `sigTst2` header. */
  timeStamper?: TimeStamper | null;
  /** Told the token when there is one. */
  onTimeStamp?: (token: TimeStampToken) => void;
}

/**
 * Builds the tagged COSE_Sign1 (RFC 9052 §4.2) that c2pa-rs embeds as a manifest's signature: detached
 * payload, `alg` and `x5chain` in the protected header, padded with the `pad` unprotected header to exactly
 * `reserveSize` bytes. c2pa-rs does not check the length at sign time; a wrong length only shows when the
 * file is read back, so this refuses to return anything else.
 *
 * @example
 * const cose = await buildCoseSign1({ alg: "es256", certChainDer, claim, sign, reserveSize: 20000 });
 */
export async function buildCoseSign1(input: CoseSign1Input): Promise<Uint8Array> {
  if (input.certChainDer.length === 0) throw new Error("COSE_Sign1: the certificate chain is empty");
  const protectedHeader = new Map<number, unknown>([
    [HEADER_ALG, COSE_ALGORITHMS[input.alg]],
    [HEADER_X5CHAIN, input.certChainDer.length === 1 ? input.certChainDer[0] : [...input.certChainDer]],
  ]);
  const protectedBytes = encode(protectedHeader);
  const toBeSigned = encode(["Signature1", protectedBytes, new Uint8Array(0), input.claim]);
  const signature = await input.sign(toBeSigned);
  const headers = new Map<string, unknown>();
  if (input.timeStamper) {
    // C2PA 2.x `sigTst2`: the TSA stamps the COSE countersignature structure over the signature itself
    // (["CounterSignature", protected, external_aad, bstr(signature)]), so the stamp vouches for this
    // signature and not only for the claim. The header holds the bare TimeStampToken.
    const counter = encode(["CounterSignature", protectedBytes, new Uint8Array(0), encode(signature)]);
    const token = await input.timeStamper.stamp(counter);
    headers.set("sigTst2", new Map([["tstTokens", [new Map([["val", token.der]])]]]));
    input.onTimeStamp?.(token);
  }
  return padToSize(protectedBytes, signature, input.reserveSize, headers);
}

function encodeSign1(protectedBytes: Uint8Array, signature: Uint8Array, unprotected: Map<string, unknown>) {
  return encode(new Tag([protectedBytes, unprotected, null, signature], COSE_SIGN1_TAG));
}

/**
 * Fills the `pad` header so the whole structure is `size` bytes. A byte-string's length prefix grows by a
 * byte at 24, 256 and 65 536, so some sizes cannot be reached with one pad; a second, `pad2`, covers those
 * (the same two labels c2pa-rs uses for its own padding).
 */
function padToSize(
  protectedBytes: Uint8Array,
  signature: Uint8Array,
  size: number,
  headers: Map<string, unknown>,
): Uint8Array {
  const bare = encodeSign1(protectedBytes, signature, new Map([...headers, ["pad", new Uint8Array(0)]]));
  const room = size - bare.length;
  if (room < 0) {
    throw new Error(
      `COSE_Sign1 needs ${bare.length} bytes but c2pa-rs reserved ${size}; raise the signer's reserveSize`,
    );
  }
  for (const pad2 of [null, 0, 1, 2, 3]) {
    for (let n = Math.max(0, room - 8); n <= room; n++) {
      const unprotected = new Map<string, unknown>([...headers, ["pad", new Uint8Array(n)]]);
      if (pad2 !== null) unprotected.set("pad2", new Uint8Array(pad2));
      const out = encodeSign1(protectedBytes, signature, unprotected);
      if (out.length === size) return out;
    }
  }
  throw new Error(`COSE_Sign1 cannot be padded to exactly ${size} bytes`);
}
