import { constants, createPrivateKey, sign as cryptoSign, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { checkSigningChain, pemCertificates, SigningCertificateError } from "./certs.js";
import type { SigningAlgorithm } from "./cose.js";

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
  const options =
    key.asymmetricKeyType === "ec"
      ? { key, dsaEncoding: "ieee-p1363" as const }
      : key.asymmetricKeyType === "ed25519"
        ? key
        : { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
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
