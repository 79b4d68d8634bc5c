import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureDevCredentials, generateChain, SIGNING_EKUS, SigningCertificateError } from "./certs.js";
import { localKeySigner, localKeySignerFromFiles } from "./signer.js";
import { x509 } from "./x509.js";

const ku = (flags: number) => new x509.KeyUsagesExtension(flags, true);
const eku = (...oids: string[]) => new x509.ExtendedKeyUsageExtension(oids);

async function refusal(leafExtensions: x509.Extension[]): Promise<SigningCertificateError> {
  const chain = await generateChain({ leafExtensions });
  try {
    localKeySigner({ chainPem: chain.chainPem, keyPem: chain.keyPem, source: "/etc/earmark/chain.pem" });
  } catch (err) {
    expect(err).toBeInstanceOf(SigningCertificateError);
    return err as SigningCertificateError;
  }
  throw new Error("the certificate was accepted");
}

describe("signing certificate check at start-up", () => {
  it("accepts the generated development chain", async () => {
    const chain = await generateChain();
    const signer = localKeySigner({ chainPem: chain.chainPem, keyPem: chain.keyPem, source: "dev" });
    expect(signer.alg).toBe("es256");
    expect(signer.certChainDer).toHaveLength(2);
  });

  it("refuses a certificate without extendedKeyUsage, saying which usages c2pa-rs accepts", async () => {
    const err = await refusal([ku(x509.KeyUsageFlags.digitalSignature)]);
    expect(err.message).toContain("The C2PA signing certificate /etc/earmark/chain.pem cannot be used");
    expect(err.problems).toEqual([
      expect.stringMatching(
        /has no extendedKeyUsage extension; c2pa-rs needs one of emailProtection .*documentSigning/,
      ),
    ]);
  });

  it("refuses a TLS server certificate", async () => {
    const err = await refusal([
      ku(x509.KeyUsageFlags.digitalSignature),
      eku(x509.ExtendedKeyUsage.serverAuth),
    ]);
    expect(err.problems).toEqual([expect.stringContaining("only serverAuth (a TLS certificate)")]);
  });

  it("refuses a certificate whose keyUsage lacks digitalSignature", async () => {
    const err = await refusal([ku(x509.KeyUsageFlags.keyEncipherment), eku(SIGNING_EKUS.emailProtection)]);
    expect(err.problems).toEqual([expect.stringContaining("keyUsage without digitalSignature")]);
  });

  it("refuses a CA certificate as the signer", async () => {
    const err = await refusal([
      new x509.BasicConstraintsExtension(true, 0, true),
      ku(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign),
      eku(SIGNING_EKUS.c2paClaimSigning),
    ]);
    expect(err.problems.some((p) => p.includes("is a CA certificate (basicConstraints CA:TRUE)"))).toBe(true);
  });

  it("refuses a key that does not belong to the certificate, without printing the key", async () => {
    const [a, b] = await Promise.all([generateChain(), generateChain()]);
    const run = () => localKeySigner({ chainPem: a.chainPem, keyPem: b.keyPem, source: "chain.pem" });
    expect(run).toThrow(/the private key does not belong to the signing \(first\) certificate/);
    try {
      run();
    } catch (err) {
      const body = b.keyPem.split("\n").slice(1, -2).join("");
      expect((err as Error).message).not.toContain(body.slice(0, 40));
    }
  });

  it("refuses a chain without its intermediate", async () => {
    const chain = await generateChain();
    const leafOnly = chain.chainPem.slice(0, chain.chainPem.indexOf("-----END CERTIFICATE-----") + 25);
    expect(() => localKeySigner({ chainPem: leafOnly, keyPem: chain.keyPem, source: "c.pem" })).toThrow(
      /the chain holds only the signing certificate; add its intermediate/,
    );
  });

  it("says which file cannot be read", async () => {
    await expect(
      localKeySignerFromFiles({ chain: "/nonexistent/chain.pem", key: "/nonexistent/key.pem" }),
    ).rejects.toThrow(/\/nonexistent\/(chain|key)\.pem.*cannot be read: ENOENT/s);
  });
});

describe("development credentials", () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it("are generated once into the data directory, key readable by the owner only, and then reused", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "earmark-c2pa-"));
    dirs.push(dir);
    const first = await ensureDevCredentials(dir);
    expect(first.created).toBe(true);
    expect((await stat(first.key)).mode & 0o777).toBe(0o600);
    const signer = await localKeySignerFromFiles(first);
    const again = await ensureDevCredentials(dir);
    expect(again.created).toBe(false);
    expect(await readFile(again.chain, "utf8")).toBe(await readFile(first.chain, "utf8"));
    expect((await localKeySignerFromFiles(again)).certChainDer[0]).toEqual(signer.certChainDer[0]);
    expect(await readFile(first.root, "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });
});
