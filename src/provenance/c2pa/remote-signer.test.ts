import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { audioIn, simpleManifest } from "../../../test/harness/c2pa.js";
import { startRemoteSigner, type TestRemoteSigner } from "../../../test/harness/remote-signer.js";
import { loadConfig, shownValue } from "../../config.js";
import { setupProvenance } from "../service.js";
import { type GeneratedChain, generateChain } from "./certs.js";
import { der, derUnsigned, TAG } from "./der.js";
import { signAudio } from "./sign.js";
import { ecdsaToP1363, remoteSigner } from "./signer.js";

let chain: GeneratedChain;
let service: TestRemoteSigner;
let dir: string;
beforeAll(async () => {
  chain = await generateChain({ name: "Label behind a KMS" });
  service = await startRemoteSigner({ keyPem: chain.keyPem, token: "s3cret" });
  dir = await mkdtemp(path.join(os.tmpdir(), "earmark-remote-"));
});
afterAll(async () => {
  await service?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("a remote signer (KMS, HSM or signing service behind HTTP)", () => {
  it("signs renditions that read back trusted, the key never in this process", async () => {
    const signer = remoteSigner({
      url: service.url,
      token: "s3cret",
      chainPem: chain.chainPem,
      source: "chain",
    });
    expect(signer.alg).toBe("es256");
    const before = service.algs.length;
    const signed = await signAudio(await audioIn("mp3"), "mp3", simpleManifest("mp3"), signer, {
      anchorsPem: chain.rootPem,
    });
    expect(signed.readBack.state).toBe("trusted");
    expect(signed.readBack.activeManifest?.signer).toBe("Label behind a KMS signer");
    expect(service.algs.slice(before)).toEqual(["es256"]);
  });

  it("refuses a signature made with another key, and says so", async () => {
    const other = await generateChain({ name: "Someone else" });
    const signer = remoteSigner({
      url: service.url,
      token: "s3cret",
      chainPem: other.chainPem,
      source: "other.pem",
    });
    await expect(signer.sign(Uint8Array.of(1, 2, 3))).rejects.toThrow(
      `remote signer ${service.url}: its es256 signature does not verify with the public key of the signing certificate in other.pem`,
    );
  });

  it("converts DER ECDSA signatures to r‖s and leaves raw ones alone", () => {
    const r = new Uint8Array(32).fill(0x11);
    r[0] = 0x91; // high bit set: DER adds a leading zero
    const s = Uint8Array.of(0x05, 0x06); // short: r‖s pads it
    const derSig = der(TAG.sequence, derUnsigned(r), derUnsigned(s));
    const raw = ecdsaToP1363(derSig, "es256");
    expect(raw.length).toBe(64);
    expect([...raw.subarray(0, 32)]).toEqual([...r]);
    expect([...raw.subarray(32)]).toEqual([...new Uint8Array(30), 0x05, 0x06]);
    expect(ecdsaToP1363(raw, "es256")).toBe(raw);
    const ed = new Uint8Array(64).fill(0x30);
    expect(ecdsaToP1363(ed, "ed25519")).toBe(ed);
  });

  it("is configured by EARMARK_C2PA_SIGNER_URL with the chain, checked by one signature at start-up", async () => {
    const env = {
      EARMARK_DATA_DIR: dir,
      EARMARK_C2PA_CERT: chain.chainPem,
      EARMARK_C2PA_SIGNER_URL: service.url,
      EARMARK_C2PA_TRUST_ANCHORS: chain.rootPem,
    };
    const before = service.algs.length;
    const p = await setupProvenance(
      loadConfig({ ...env, EARMARK_C2PA_SIGNER_TOKEN: "s3cret" }),
      pino({ level: "silent" }),
    );
    expect(p.development).toBe(false);
    expect(service.algs.length).toBe(before + 1);
    await expect(
      setupProvenance(loadConfig({ ...env, EARMARK_C2PA_SIGNER_TOKEN: "wrong" }), pino({ level: "silent" })),
    ).rejects.toThrow(
      `C2PA: the remote signer cannot be used at start-up: remote signer ${service.url}: answered HTTP 401`,
    );
  });

  it("needs the chain, no local key, and never shows the token", () => {
    expect(() => loadConfig({ EARMARK_C2PA_SIGNER_URL: "https://kms.example/sign" })).toThrow(
      /EARMARK_C2PA_CERT: required with EARMARK_C2PA_SIGNER_URL/,
    );
    expect(() =>
      loadConfig({
        EARMARK_C2PA_SIGNER_URL: "https://kms.example/sign",
        EARMARK_C2PA_CERT: "/etc/chain.pem",
        EARMARK_C2PA_KEY: "/etc/key.pem",
      }),
    ).toThrow(/EARMARK_C2PA_KEY: must be unset with EARMARK_C2PA_SIGNER_URL/);
    expect(shownValue("EARMARK_C2PA_SIGNER_TOKEN", "s3cret")).toBe("<set>");
  });
});
