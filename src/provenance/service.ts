import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { ByteSource } from "../audio/bytes.js";
import type { AudioFormat } from "../audio/format.js";
import type { Config } from "../config.js";
import { ensureDevCredentials, generateChain, SigningCertificateError } from "./c2pa/certs.js";
import { type ReadResult, readProvenance } from "./c2pa/read.js";
import type { TrustConfig } from "./c2pa/settings.js";
import { localKeySigner, remoteSigner, type Signer } from "./c2pa/signer.js";
import { rfc3161TimeStamper, type TimeStamper } from "./c2pa/timestamp.js";
import { setC2paConcurrency } from "./c2pa/wasm.js";

/**
 * Provenance as the rest of Earmark uses it: who signs, what is trusted, and reading a stored file's
 * manifest within the size bound. Built once at start-up ({@link setupProvenance}); tests build their own.
 */
export interface Provenance {
  signer: Signer;
  trust: TrustConfig;
  /** The RFC 3161 time-stamp authority every signature is stamped by, or null for none. */
  timeStamper: TimeStamper | null;
  /** Largest file read or signed: c2pa-rs in WASM holds the whole file, and its memory only grows. */
  maxBytes: number;
  /** True while Earmark signs with the development credentials it generated itself. */
  development: boolean;
  /** Reads and validates the manifest embedded in stored bytes; never throws for what is wrong with the file. */
  read(source: ByteSource, format: AudioFormat): Promise<ReadResult>;
}

/** Reads a whole ByteSource into memory (c2pa-rs needs random access to the complete file). */
export async function readAll(source: ByteSource): Promise<Uint8Array> {
  const out = new Uint8Array(source.size);
  let at = 0;
  for await (const chunk of source.stream()) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return at === out.length ? out : out.subarray(0, at);
}

export function provenanceWith(opts: {
  signer: Signer;
  trust: TrustConfig;
  timeStamper?: TimeStamper | null;
  maxBytes: number;
  development: boolean;
}): Provenance {
  return {
    ...opts,
    timeStamper: opts.timeStamper ?? null,
    async read(source, format) {
      if (source.size > opts.maxBytes) {
        return {
          signal: {
            present: false,
            state: null,
            statusCodes: [],
            activeManifest: null,
            problem: {
              code: "too-large",
              detail: `the file is ${source.size} bytes; C2PA manifests are read up to EARMARK_C2PA_MAX_BYTES (${opts.maxBytes})`,
            },
          },
          store: null,
        };
      }
      return readProvenance(await readAll(source), format, opts.trust);
    },
  };
}

/** A configured PEM value: the PEM itself when it looks like one, else the path of a file holding it. */
async function pemFrom(value: string, variable: string): Promise<{ pem: string; source: string }> {
  if (value.trimStart().startsWith("-----BEGIN")) return { pem: value, source: `from ${variable}` };
  try {
    return { pem: await readFile(value, "utf8"), source: value };
  } catch (err) {
    throw new SigningCertificateError(value, [
      `${variable} names a file that cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    ]);
  }
}

/**
 * Start-up: the signer from EARMARK_C2PA_CERT/KEY, or a remote signer (EARMARK_C2PA_SIGNER_URL, checked with
 * one signature), or development credentials generated into the data
 * directory on first start (said loudly: files signed with them are trusted only where the development root
 * is installed as an anchor). A certificate c2pa-rs would refuse stops start-up with what is wrong. The WASM
 * module is compiled on first use; a server warms it at start-up (server.ts), one-shot commands never pay.
 */
export async function setupProvenance(config: Config, logger: Logger): Promise<Provenance> {
  setC2paConcurrency(config.c2pa.concurrency);
  const anchors: string[] = [];
  let signer: Signer;
  let development = false;
  if (config.c2pa.cert && config.c2pa.signerUrl) {
    const chain = await pemFrom(config.c2pa.cert, "EARMARK_C2PA_CERT");
    signer = remoteSigner({
      url: config.c2pa.signerUrl,
      token: config.c2pa.signerToken,
      chainPem: chain.pem,
      source: chain.source,
    });
    // One signature now, checked against the certificate: a wrong URL, token or key stops start-up here
    // rather than failing every render later.
    try {
      await signer.sign(new TextEncoder().encode(`earmark start-up check ${new Date().toISOString()}`));
    } catch (err) {
      throw new Error(`C2PA: the remote signer cannot be used at start-up: ${(err as Error).message}`);
    }
    logger.info({ signer: config.c2pa.signerUrl, alg: signer.alg }, "C2PA: signing through a remote signer");
  } else if (config.c2pa.cert && config.c2pa.key) {
    const chain = await pemFrom(config.c2pa.cert, "EARMARK_C2PA_CERT");
    const key = await pemFrom(config.c2pa.key, "EARMARK_C2PA_KEY");
    signer = localKeySigner({ chainPem: chain.pem, keyPem: key.pem, source: chain.source });
  } else {
    const dev = await ensureDevCredentials(config.dataDir);
    const [chainPem, keyPem, rootPem] = await Promise.all(
      [dev.chain, dev.key, dev.root].map((p) => readFile(p, "utf8")),
    );
    signer = localKeySigner({ chainPem: chainPem!, keyPem: keyPem!, source: dev.chain });
    anchors.push(rootPem!);
    development = true;
    logger.warn(
      { chain: dev.chain, root: dev.root, created: dev.created },
      "C2PA: signing with DEVELOPMENT credentials generated by Earmark. Renditions are trusted only where " +
        "this development root is a trust anchor. For production set EARMARK_C2PA_CERT and EARMARK_C2PA_KEY.",
    );
  }
  if (config.c2pa.trustAnchors) {
    anchors.push((await pemFrom(config.c2pa.trustAnchors, "EARMARK_C2PA_TRUST_ANCHORS")).pem);
  }
  if (config.c2pa.tsaUrl)
    logger.info({ tsa: config.c2pa.tsaUrl }, "C2PA: signatures are time-stamped (RFC 3161)");
  return provenanceWith({
    signer,
    trust: { anchorsPem: anchors.join("\n") },
    timeStamper: config.c2pa.tsaUrl ? rfc3161TimeStamper({ url: config.c2pa.tsaUrl }) : null,
    maxBytes: config.c2pa.maxBytes,
    development,
  });
}

/**
 * Provenance over a development chain generated in memory and never written anywhere: for benchmarks and
 * one-off tools that need a signer but no data directory.
 */
export async function ephemeralProvenance(maxBytes = 256 * 1024 ** 2): Promise<Provenance> {
  const chain = await generateChain({ name: "Earmark ephemeral" });
  return provenanceWith({
    signer: localKeySigner({ chainPem: chain.chainPem, keyPem: chain.keyPem, source: "ephemeral chain" }),
    trust: { anchorsPem: chain.rootPem },
    maxBytes,
    development: true,
  });
}
