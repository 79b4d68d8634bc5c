import { type KeyObject, X509Certificate as NodeX509, webcrypto } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { x509 } from "./x509.js";

/**
 * Extended key usages c2pa-rs accepts on a signing certificate when they are listed in `trust.trust_config`
 * (see settings.ts, which lists exactly these): e-mail protection (accepted by c2pa-rs even without the
 * list), document signing, and the C2PA claim-signing OID.
 */
export const SIGNING_EKUS = {
  emailProtection: "1.3.6.1.5.5.7.3.4",
  documentSigning: "1.3.6.1.5.5.7.3.36",
  c2paClaimSigning: "1.3.6.1.4.1.62558.2.1",
} as const;

const ANY_EKU = "2.5.29.37.0";
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CURVES_ACCEPTED = new Set(["prime256v1", "secp384r1", "secp521r1"]);

/** A signing certificate or key c2pa-rs would refuse; `problems` says each thing that is wrong. */
export class SigningCertificateError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(
      `The C2PA signing certificate ${source} cannot be used:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "SigningCertificateError";
  }
}

/** DER certificates in a PEM text, in order. Throws when there is none. */
export function pemCertificates(pem: string, source: string): Uint8Array<ArrayBuffer>[] {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new SigningCertificateError(source, ["it holds no PEM CERTIFICATE block"]);
  return blocks.map((b) => new Uint8Array(Buffer.from((b[1] ?? "").replace(/\s+/g, ""), "base64")));
}

/**
 * Checks a signing chain (leaf first, then intermediates) the way c2pa-rs will when it validates what we
 * sign, so a certificate it would refuse stops the server at start-up rather than making every signed file
 * read back as invalid. With `privateKey`, also checks the key belongs to the leaf.
 *
 * @example
 * checkSigningChain(pemCertificates(pem, "chain.pem"), { source: "chain.pem", privateKey });
 */
export function checkSigningChain(
  chainDer: readonly Uint8Array<ArrayBuffer>[],
  opts: { source: string; privateKey?: KeyObject; now?: Date },
): void {
  const problems: string[] = [];
  const [leafDer, ...rest] = chainDer;
  if (!leafDer) throw new SigningCertificateError(opts.source, ["the chain is empty"]);
  const leaf = new NodeX509(leafDer);
  const now = opts.now ?? new Date();
  const who = `the signing (first) certificate "${leaf.subject.replaceAll("\n", ", ")}"`;

  if (leaf.ca) {
    problems.push(
      `${who} is a CA certificate (basicConstraints CA:TRUE); C2PA signs with an end-entity certificate issued by a CA`,
    );
  }
  const ku = keyUsageOf(leafDer);
  if (ku === null) {
    problems.push(`${who} has no keyUsage extension; it needs keyUsage digitalSignature (critical)`);
  } else if ((ku & KU_DIGITAL_SIGNATURE) === 0) {
    problems.push(`${who} has keyUsage without digitalSignature; c2pa-rs needs digitalSignature`);
  }
  // Node calls the extended key usages `keyUsage`; undefined when the extension is absent.
  const usages = leaf.keyUsage as string[] | undefined;
  const accepted = Object.entries(SIGNING_EKUS)
    .map(([name, oid]) => `${name} (${oid})`)
    .join(", ");
  if (!usages) {
    problems.push(`${who} has no extendedKeyUsage extension; c2pa-rs needs one of ${accepted}`);
  } else if (usages.includes(ANY_EKU)) {
    problems.push(`${who} allows anyExtendedKeyUsage, which C2PA forbids on a signing certificate`);
  } else if (!usages.some((u) => (Object.values(SIGNING_EKUS) as string[]).includes(u))) {
    const what =
      usages.length === 1 && usages[0] === SERVER_AUTH
        ? "only serverAuth (a TLS certificate)"
        : usages.join(", ");
    problems.push(`${who} has extendedKeyUsage ${what}; c2pa-rs needs one of ${accepted}`);
  }
  const key = leaf.publicKey;
  const type = key.asymmetricKeyType;
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? "unknown";
    if (!CURVES_ACCEPTED.has(curve)) {
      problems.push(`${who} has an EC key on ${curve}; c2pa-rs accepts P-256, P-384 and P-521`);
    }
  } else if (type === "rsa" || type === "rsa-pss") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) problems.push(`${who} has a ${bits}-bit RSA key; c2pa-rs needs at least 2048 bits`);
  } else if (type !== "ed25519") {
    problems.push(`${who} has a ${type} key; c2pa-rs accepts ECDSA (P-256/384/521), RSA-PSS and Ed25519`);
  }
  const notAfter = new Date(leaf.validTo);
  const notBefore = new Date(leaf.validFrom);
  if (notAfter < now) problems.push(`${who} expired on ${notAfter.toISOString()}`);
  if (notBefore > now) problems.push(`${who} is not valid before ${notBefore.toISOString()}`);
  if (opts.privateKey && !leaf.checkPrivateKey(opts.privateKey)) {
    problems.push(`the private key does not belong to ${who}`);
  }
  if (rest.length === 0) {
    problems.push(
      "the chain holds only the signing certificate; add its intermediate CA certificate(s) after it (not the root)",
    );
  }
  for (const [i, der] of rest.entries()) {
    const cert = new NodeX509(der);
    if (!cert.ca) {
      problems.push(
        `certificate ${i + 2} in the chain ("${cert.subject.replaceAll("\n", ", ")}") is not a CA certificate`,
      );
    }
  }
  if (problems.length > 0) throw new SigningCertificateError(opts.source, problems);
}

const KU_DIGITAL_SIGNATURE = 0x80;
/** DER of the keyUsage extension's OID, 2.5.29.15. */
const KU_OID = [0x06, 0x03, 0x55, 0x1d, 0x0f];

/**
 * The first byte of a certificate's keyUsage bits (digitalSignature is its top bit), or null without the
 * extension. node:crypto parses certificates but does not expose keyUsage, and the X.509 library that does
 * costs ~0.4 s to import on every command; the extension's DER is fixed: OID, optional critical flag, then an
 * OCTET STRING wrapping a BIT STRING.
 */
export function keyUsageOf(der: Uint8Array): number | null {
  outer: for (let i = 0; i + KU_OID.length < der.length; i++) {
    for (let k = 0; k < KU_OID.length; k++) if (der[i + k] !== KU_OID[k]) continue outer;
    let at = i + KU_OID.length;
    if (der[at] === 0x01 && der[at + 1] === 0x01) at += 3; // BOOLEAN critical
    if (der[at] !== 0x04) return null; // OCTET STRING
    at += 2;
    if (der[at] !== 0x03) return null; // BIT STRING
    const len = der[at + 1] ?? 0;
    return len >= 2 ? (der[at + 3] ?? 0) : 0;
  }
  return null;
}

/** Where the development credentials live inside the data directory. */
export function devCredentialPaths(dataDir: string) {
  const dir = path.join(dataDir, "c2pa-dev");
  return {
    dir,
    /** Signing certificate then intermediate, PEM. */
    chain: path.join(dir, "signer-chain.pem"),
    /** The signing certificate's private key, PKCS#8 PEM, mode 0600. */
    key: path.join(dir, "signer-key.pem"),
    /** The development root: the trust anchor that makes Earmark's own files read as trusted. */
    root: path.join(dir, "root.pem"),
  };
}

export interface GeneratedChain {
  rootPem: string;
  chainPem: string;
  keyPem: string;
}

const ES256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN_ES256 = { name: "ECDSA", hash: "SHA-256" } as const;

async function ecKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ES256, true, ["sign", "verify"])) as CryptoKeyPair;
}

/**
 * A development root → intermediate → signing certificate chain (P-256), with the extensions c2pa-rs
 * requires. Pure JavaScript: no openssl at run time. `leafExtensions` replaces the signing certificate's
 * basic-constraints and key-usage extensions (tests use it to make certificates c2pa-rs would refuse).
 */
export async function generateChain(
  opts: { name?: string; days?: number; leafExtensions?: x509.Extension[] } = {},
): Promise<GeneratedChain> {
  // Loaded here only: the X.509 library takes ~0.4 s to import, and only certificate generation needs it.
  const { x509 } = await import("./x509.js");
  const name = opts.name ?? "Earmark development";
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + (opts.days ?? 3650) * 86_400_000);
  const [rootKeys, interKeys, leafKeys] = await Promise.all([ecKeys(), ecKeys(), ecKeys()]);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name} root CA, O=Earmark (development only)`,
    keys: rootKeys,
    notBefore,
    notAfter,
    signingAlgorithm: SIGN_ES256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const intermediate = await x509.X509CertificateGenerator.create({
    subject: `CN=${name} intermediate CA, O=Earmark (development only)`,
    issuer: root.subject,
    publicKey: interKeys.publicKey,
    signingKey: rootKeys.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm: SIGN_ES256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(interKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(root),
    ],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    subject: `CN=${name} signer, O=Earmark (development only)`,
    issuer: intermediate.subject,
    publicKey: leafKeys.publicKey,
    signingKey: interKeys.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm: SIGN_ES256,
    extensions: [
      ...(opts.leafExtensions ?? [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([SIGNING_EKUS.emailProtection, SIGNING_EKUS.documentSigning]),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(intermediate),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey);
  return {
    rootPem: root.toString("pem"),
    chainPem: `${leaf.toString("pem")}\n${intermediate.toString("pem")}\n`,
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"),
  };
}

/**
 * Makes sure development credentials exist in the data directory, generating them on first use. Returns
 * their paths and whether they were created now (the caller says loudly that they are for development).
 */
export async function ensureDevCredentials(
  dataDir: string,
): Promise<ReturnType<typeof devCredentialPaths> & { created: boolean }> {
  const paths = devCredentialPaths(dataDir);
  const existing = await Promise.all(
    [paths.chain, paths.key, paths.root].map((p) =>
      readFile(p, "utf8").then(
        () => true,
        () => false,
      ),
    ),
  );
  if (existing.every(Boolean)) return { ...paths, created: false };
  const chain = await generateChain();
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await writeFile(paths.key, chain.keyPem, { mode: 0o600 });
  await chmod(paths.key, 0o600);
  await writeFile(paths.chain, chain.chainPem);
  await writeFile(paths.root, chain.rootPem);
  return { ...paths, created: true };
}
