import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { audioIn } from "../../test/harness/c2pa.js";
import { bufferSource } from "../audio/bytes.js";
import { ConfigError, loadConfig } from "../config.js";
import { buildDeps } from "../deps.js";
import { generateChain, SigningCertificateError } from "./c2pa/certs.js";
import { x509 } from "./c2pa/x509.js";
import { provenanceWith, setupProvenance } from "./service.js";

const dirs: string[] = [];
async function tempDir() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "earmark-prov-"));
  dirs.push(dir);
  return dir;
}
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}

describe("provenance at start-up", () => {
  it("without configuration, generates development credentials and says so loudly", async () => {
    const dir = await tempDir();
    const { logger, lines } = capturingLogger();
    const p = await setupProvenance(loadConfig({ EARMARK_DATA_DIR: dir }), logger);
    expect(p.development).toBe(true);
    expect(p.trust.anchorsPem).toMatch(/BEGIN CERTIFICATE/);
    const warning = lines.find((l) => l.level === 40);
    expect(warning?.msg).toMatch(/DEVELOPMENT credentials.*EARMARK_C2PA_CERT and EARMARK_C2PA_KEY/);
    // The key is never logged.
    expect(JSON.stringify(lines)).not.toMatch(/PRIVATE KEY/);
  });

  it("takes a production chain and key from files, and anchors from the environment as PEM", async () => {
    const dir = await tempDir();
    const chain = await generateChain({ name: "Label Inc" });
    await writeFile(path.join(dir, "chain.pem"), chain.chainPem);
    await writeFile(path.join(dir, "key.pem"), chain.keyPem);
    const config = loadConfig({
      EARMARK_DATA_DIR: dir,
      EARMARK_C2PA_CERT: path.join(dir, "chain.pem"),
      EARMARK_C2PA_KEY: path.join(dir, "key.pem"),
      EARMARK_C2PA_TRUST_ANCHORS: chain.rootPem,
    });
    const p = await setupProvenance(config, pino({ level: "silent" }));
    expect(p.development).toBe(false);
    expect(p.trust.anchorsPem.trim()).toBe(chain.rootPem.trim());
    expect(p.signer.alg).toBe("es256");
  });

  it("refuses to start with a certificate c2pa-rs would refuse, before opening the database", async () => {
    const dir = await tempDir();
    const bad = await generateChain({
      leafExtensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
    });
    const config = loadConfig({
      EARMARK_DATA_DIR: dir,
      EARMARK_C2PA_CERT: bad.chainPem,
      EARMARK_C2PA_KEY: bad.keyPem,
    });
    const started = buildDeps(config, { logger: pino({ level: "silent" }) });
    await expect(started).rejects.toThrow(SigningCertificateError);
    await expect(buildDeps(config, { logger: pino({ level: "silent" }) })).rejects.toThrow(
      /The C2PA signing certificate from EARMARK_C2PA_CERT cannot be used:\n {2}- the signing \(first\) certificate .* has no extendedKeyUsage/,
    );
    expect(existsSync(path.join(dir, "pglite"))).toBe(false);
  });

  it("wants the certificate and the key together", () => {
    expect(() => loadConfig({ EARMARK_C2PA_CERT: "/etc/chain.pem" })).toThrow(ConfigError);
    expect(() => loadConfig({ EARMARK_C2PA_KEY: "/etc/key.pem" })).toThrow(
      /EARMARK_C2PA_CERT: required with/,
    );
  });

  it("does not read manifests of files above the size bound", async () => {
    const chain = await generateChain();
    const p = provenanceWith({
      signer: {} as never,
      trust: { anchorsPem: chain.rootPem },
      maxBytes: 1000,
      development: true,
    });
    const { signal } = await p.read(bufferSource(await audioIn("mp3")), "mp3");
    expect(signal.problem).toEqual({
      code: "too-large",
      detail: expect.stringContaining("EARMARK_C2PA_MAX_BYTES (1000)"),
    });
  });
});
