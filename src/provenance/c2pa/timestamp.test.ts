import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { audioIn, devTrust, EMBEDDABLE_FORMATS, simpleManifest } from "../../../test/harness/c2pa.js";
import { startTestTsa, type TestTsa } from "../../../test/harness/tsa.js";
import { der, derUnsigned, TAG } from "./der.js";
import { readProvenance } from "./read.js";
import { ProvenanceSigningError, signAudio } from "./sign.js";
import {
  parseTimeStampResponse,
  rfc3161TimeStamper,
  TimeStampError,
  type TimeStamper,
  timeStampRequest,
} from "./timestamp.js";

const run = promisify(execFile);

let tsa: TestTsa;
beforeAll(async () => {
  tsa = await startTestTsa();
});
afterAll(async () => {
  await tsa?.close();
});

/** The dev signer's anchors plus the test TSA's root. */
async function trustWithTsa() {
  const { signer, trust } = await devTrust();
  return { signer, trust, both: { anchorsPem: `${trust.anchorsPem}\n${tsa.rootPem}` } };
}

describe("RFC 3161 requests and answers", () => {
  it("writes a request OpenSSL reads as SHA-256 with our nonce and a certificate request", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "earmark-tsq-"));
    try {
      const digest = new Uint8Array(32).map((_, i) => i);
      const file = path.join(dir, "q.tsq");
      await writeFile(file, timeStampRequest(digest, Uint8Array.of(0x81, 2, 3, 4, 5, 6, 7, 8)));
      const { stdout } = await run("openssl", ["ts", "-query", "-in", file, "-text"]);
      expect(stdout).toMatch(/Hash Algorithm: sha256/);
      expect(stdout).toMatch(/00 01 02 03 04 05 06 07-08 09 0a 0b 0c 0d 0e 0f/);
      expect(stdout).toMatch(/Nonce: 0x8102030405060708/);
      expect(stdout).toMatch(/Certificate required: yes/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("gets a token from a real TSA, with the time it states", async () => {
    const before = Date.now();
    const token = await rfc3161TimeStamper({ url: tsa.url }).stamp(new TextEncoder().encode("hello"));
    expect(token.der[0]).toBe(0x30);
    // OpenSSL's TSA states whole seconds.
    expect(token.time.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(token.time.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it("refuses an answer for another message or another nonce", async () => {
    // Ask the real TSA directly, then check its answer against other expectations.
    const digest = new Uint8Array(32).fill(7);
    const nonce = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const res = await fetch(tsa.url, {
      method: "POST",
      headers: { "content-type": "application/timestamp-query" },
      body: timeStampRequest(digest, nonce),
    });
    const body = new Uint8Array(await res.arrayBuffer());
    expect(parseTimeStampResponse(body, { digest, nonce }, "tsa").der.length).toBeGreaterThan(100);
    expect(() => parseTimeStampResponse(body, { digest: new Uint8Array(32), nonce }, "tsa")).toThrow(
      /stamps another message/,
    );
    expect(() =>
      parseTimeStampResponse(body, { digest, nonce: Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9) }, "tsa"),
    ).toThrow(/nonce/);
  });

  it("says why a TSA refused, and what is wrong with an answer that is not one", () => {
    const refusal = der(
      TAG.sequence,
      der(
        TAG.sequence,
        derUnsigned(Uint8Array.of(2)),
        der(TAG.sequence, der(TAG.utf8String, new TextEncoder().encode("policy not allowed"))),
        // failInfo: bit 0 (badAlg) set; 7 unused bits.
        der(TAG.bitString, Uint8Array.of(7, 0x80)),
      ),
    );
    const expected = { digest: new Uint8Array(32), nonce: Uint8Array.of(1) };
    expect(() => parseTimeStampResponse(refusal, expected, "https://tsa.example")).toThrow(
      "time-stamp authority https://tsa.example: request refused (PKIStatus 2: badAlg (unrecognised or unsupported algorithm); policy not allowed)",
    );
    expect(() =>
      parseTimeStampResponse(new TextEncoder().encode("<html>hi</html>"), expected, "tsa"),
    ).toThrow(/not a DER TimeStampResp/);
  });

  it("names an HTTP error and an unreachable TSA", async () => {
    tsa.failWith(503);
    try {
      await expect(rfc3161TimeStamper({ url: tsa.url }).stamp(Uint8Array.of(1))).rejects.toThrow(
        `time-stamp authority ${tsa.url}: answered HTTP 503`,
      );
    } finally {
      tsa.failWith(null);
    }
    // A port nothing listens on any more.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/tsa`;
    await expect(rfc3161TimeStamper({ url, timeoutMs: 2000 }).stamp(Uint8Array.of(1))).rejects.toThrow(
      `time-stamp authority ${url}: cannot be reached (ECONNREFUSED)`,
    );
  });
});

describe.each(EMBEDDABLE_FORMATS)("time-stamped C2PA signatures in %s", (format) => {
  it("carry a TSA token c2pa-rs validates: trusted with the TSA's root, untrusted without", async () => {
    const { signer, trust, both } = await trustWithTsa();
    const asked = tsa.requests;
    const before = Math.floor(Date.now() / 1000) * 1000;
    const signed = await signAudio(await audioIn(format), format, simpleManifest(format), signer, both, {
      timeStamper: rfc3161TimeStamper({ url: tsa.url }),
    });
    expect(tsa.requests).toBe(asked + 1);
    expect(signed.timeStamp?.time.getTime()).toBeGreaterThanOrEqual(before);

    const withRoot = await readProvenance(signed.bytes, format, both);
    expect(withRoot.signal.state).toBe("trusted");
    const stamp = withRoot.signal.activeManifest?.timeStamp;
    expect(stamp?.state).toBe("trusted");
    // c2pa-rs reports the CMS signing-time attribute, which OpenSSL's TSA writes apart from the TSTInfo's
    // genTime: the two can differ by a second.
    expect(
      Math.abs(Date.parse(stamp?.time ?? "") - (signed.timeStamp?.time.getTime() ?? 0)),
    ).toBeLessThanOrEqual(2000);

    // A reader who trusts the signer but not this TSA still gets a trusted manifest, with the stamp untrusted.
    const withoutRoot = await readProvenance(signed.bytes, format, trust);
    expect(withoutRoot.signal.state).toBe("trusted");
    expect(withoutRoot.signal.activeManifest?.timeStamp?.state).toBe("untrusted");
  });
});

describe("signing with a time-stamp authority", () => {
  it("has no time stamp when none is configured", async () => {
    const { signer, trust } = await devTrust();
    const signed = await signAudio(await audioIn("wav"), "wav", simpleManifest("wav"), signer, trust);
    expect(signed.timeStamp).toBeNull();
    expect(signed.readBack.activeManifest?.timeStamp).toBeNull();
  });

  it("does not sign while the TSA is down, and says so", async () => {
    const { signer, both } = await trustWithTsa();
    tsa.failWith(503);
    try {
      const attempt = signAudio(await audioIn("flac"), "flac", simpleManifest("flac"), signer, both, {
        timeStamper: rfc3161TimeStamper({ url: tsa.url }),
      });
      await expect(attempt).rejects.toBeInstanceOf(ProvenanceSigningError);
      await expect(attempt).rejects.toThrow(
        `cannot sign: time-stamp authority ${tsa.url}: answered HTTP 503`,
      );
    } finally {
      tsa.failWith(null);
    }
  });

  it("refuses a file whose time stamp does not match its signature (c2pa-rs reads it back as a mismatch)", async () => {
    const { signer, both } = await trustWithTsa();
    const real = rfc3161TimeStamper({ url: tsa.url });
    // A genuine token from the real TSA, but over other bytes than the signature.
    const wrong: TimeStamper = { name: "wrong", stamp: () => real.stamp(Uint8Array.of(1, 2, 3)) };
    await expect(
      signAudio(await audioIn("wav"), "wav", simpleManifest("wav"), signer, both, { timeStamper: wrong }),
    ).rejects.toThrow(/does not validate .*time stamp invalid/);
  });

  it("TimeStampError names the TSA", () => {
    expect(new TimeStampError("https://t.example", "x").message).toBe(
      "time-stamp authority https://t.example: x",
    );
  });
});
