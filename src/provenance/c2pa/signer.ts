import {
  constants,
  createPrivateKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
  X509Certificate,
} from "node:crypto";
import { readFile } from "node:fs/promises";
import { checkSigningChain, pemCertificates, SigningCertificateError } from "./certs.js";
import type { SigningAlgorithm } from "./cose.js";
import { children, content, DerError, expectTag, readDer, TAG } from "./der.js";
import { postBytes } from "./post-bytes.js";

/**
 * Whatever holds the signing key. Earmark builds the COSE structure and asks the signer only to sign bytes,
 * so a KMS, an HSM or a remote signing service can stand in for the local key: implement this interface.
 */
export interface Signer {
  alg: SigningAlgorithm;
  /** DER certificates: the signing certificate first, then its intermediates (not the root). */
  certChainDer: readonly Uint8Array<ArrayBuffer>[];
  /**
   * Signs `bytes` (the COSE Sig_structure) and returns the signature as COSE wants it: ECDSA as raw r‖s
   * (IEEE P1363), not DER.
   */
  sign(bytes: Uint8Array): Promise<Uint8Array>;
}

function algorithmOf(key: KeyObject, source: string): SigningAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === "prime256v1") return "es256";
    if (curve === "secp384r1") return "es384";
    if (curve === "secp521r1") return "es512";
    throw new SigningCertificateError(source, [
      `the private key is on curve ${curve}; use P-256, P-384 or P-521`,
    ]);
  }
  if (type === "ed25519") return "ed25519";
  if (type === "rsa" || type === "rsa-pss") return "ps256";
  throw new SigningCertificateError(source, [`the private key is a ${type} key; use ECDSA, RSA or Ed25519`]);
}

const HASHES: Record<SigningAlgorithm, string | null> = {
  es256: "sha256",
  es384: "sha384",
  es512: "sha512",
  ps256: "sha256",
  ps384: "sha384",
  ps512: "sha512",
  ed25519: null,
};

/** node:crypto options that make or check a signature the way COSE encodes it, for a private or public key. */
function coseKeyOptions(key: KeyObject) {
  return key.asymmetricKeyType === "ec"
    ? { key, dsaEncoding: "ieee-p1363" as const }
    : key.asymmetricKeyType === "ed25519"
      ? key
      : { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
}

/**
 * A {@link Signer} over a private key in this process. Checks the chain and the key against each other the
 * way c2pa-rs will (see {@link checkSigningChain}); the key itself is never exposed by the returned object.
 *
 * @example
 * const signer = localKeySigner({ chainPem, keyPem, source: "/etc/earmark/c2pa-chain.pem" });
 */
export function localKeySigner(opts: { chainPem: string; keyPem: string; source: string }): Signer {
  const certChainDer = pemCertificates(opts.chainPem, opts.source);
  let key: KeyObject;
  try {
    key = createPrivateKey(opts.keyPem);
  } catch (err) {
    // The parser's message never contains key material, only what was wrong with the PEM.
    throw new SigningCertificateError(opts.source, [
      `the private key cannot be read (${err instanceof Error ? err.message : String(err)}); expected a PEM private key`,
    ]);
  }
  checkSigningChain(certChainDer, { source: opts.source, privateKey: key });
  const alg = algorithmOf(key, opts.source);
  const hash = HASHES[alg];
  const options = coseKeyOptions(key);
  return {
    alg,
    certChainDer,
    async sign(bytes) {
      return new Uint8Array(cryptoSign(hash, bytes, options));
    },
  };
}

/** Reads a PEM chain and a PEM key from files and makes a {@link localKeySigner} of them. */
export async function localKeySignerFromFiles(paths: { chain: string; key: string }): Promise<Signer> {
  const read = async (p: string, what: string) => {
    try {
      return await readFile(p, "utf8");
    } catch (err) {
      throw new SigningCertificateError(p, [
        `the ${what} file cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      ]);
    }
  };
  const [chainPem, keyPem] = await Promise.all([
    read(paths.chain, "certificate chain"),
    read(paths.key, "key"),
  ]);
  return localKeySigner({ chainPem, keyPem, source: paths.chain });
}

/** Field size in bytes of each ECDSA curve, for r‖s. */
const EC_FIELD_BYTES: Partial<Record<SigningAlgorithm, number>> = { es256: 32, es384: 48, es512: 66 };

/**
 * An ECDSA signature as COSE wants it (r‖s): DER `SEQUENCE { r, s }` — what most KMSs return — is
 * converted; anything else is returned unchanged.
 */
export function ecdsaToP1363(signature: Uint8Array, alg: SigningAlgorithm): Uint8Array {
  const size = EC_FIELD_BYTES[alg];
  if (!size || signature[0] !== TAG.sequence || signature.length === 2 * size) return signature;
  try {
    const seq = readDer(signature);
    if (seq.end !== signature.length) return signature;
    const [r, s] = children(seq).map((el) => content(expectTag(el, TAG.integer, "ECDSA r/s")));
    if (!r || !s) return signature;
    const out = new Uint8Array(2 * size);
    for (const [i, v] of [r, s].entries()) {
      let m = v;
      while (m.length > size && m[0] === 0) m = m.subarray(1);
      if (m.length > size) return signature;
      out.set(m, (i + 1) * size - m.length);
    }
    return out;
  } catch (err) {
    if (err instanceof DerError) return signature;
    throw err;
  }
}

export class RemoteSignerError extends Error {
  constructor(url: string, reason: string) {
    super(`remote signer ${url}: ${reason}`);
    this.name = "RemoteSignerError";
  }
}

/**
 * A {@link Signer} whose key lives elsewhere — a KMS, an HSM behind a service, a signing service. Earmark
 * POSTs the bytes to sign (`application/octet-stream`, header `x-earmark-alg`: es256 … ed25519) to `url`,
 * with `authorization: Bearer <token>` when a token is set, and takes the response body as the signature:
 * raw r‖s or DER for ECDSA (converted), RSASSA-PSS with SHA-256 and a 32-byte salt for ps256, Ed25519 as is.
 * Every signature is verified against the certificate's public key before it is used, so a service
 * signing with another key fails here, with that said, instead of producing files that read back invalid.
 *
 * @example
 * const signer = remoteSigner({ url: "https://signer.internal/sign", token, chainPem, source: "chain.pem" });
 */
export function remoteSigner(opts: {
  url: string;
  token: string | null;
  chainPem: string;
  source: string;
  timeoutMs?: number;
}): Signer {
  const certChainDer = pemCertificates(opts.chainPem, opts.source);
  checkSigningChain(certChainDer, { source: opts.source });
  const publicKey = new X509Certificate(certChainDer[0] as Uint8Array).publicKey;
  const alg = algorithmOf(publicKey, opts.source);
  const hash = HASHES[alg];
  const verifyWith = coseKeyOptions(publicKey);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const { url } = opts;
  return {
    alg,
    certChainDer,
    async sign(bytes) {
      const body = await postBytes(
        url,
        {
          body: bytes,
          headers: {
            "content-type": "application/octet-stream",
            "x-earmark-alg": alg,
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          },
          timeoutMs,
        },
        (reason) => new RemoteSignerError(url, reason),
      );
      const signature = ecdsaToP1363(body, alg);
      if (!cryptoVerify(hash, bytes, verifyWith, signature)) {
        throw new RemoteSignerError(
          url,
          `its ${alg} signature does not verify with the public key of the signing certificate in ${opts.source}: ` +
            "the service signs with another key, another algorithm or another encoding",
        );
      }
      return signature;
    },
  };
}
