/**
 * A remote signing service for tests, shaped like the thin HTTP shim an operator puts in front of a KMS:
 * it holds a private key, checks a bearer token, signs the posted bytes and answers ECDSA signatures in
 * DER (as AWS and Google Cloud KMS return them), so Earmark's conversion to r‖s is exercised.
 */
import { createPrivateKey, sign } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface TestRemoteSigner {
  url: string;
  /** The `x-earmark-alg` header of every request so far. */
  algs: string[];
  close(): Promise<void>;
}

export async function startRemoteSigner(opts: { keyPem: string; token: string }): Promise<TestRemoteSigner> {
  const key = createPrivateKey(opts.keyPem);
  const algs: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.headers.authorization !== `Bearer ${opts.token}`) {
        res.writeHead(401).end();
        return;
      }
      algs.push(String(req.headers["x-earmark-alg"]));
      res
        .writeHead(200, { "content-type": "application/octet-stream" })
        .end(sign("sha256", Buffer.concat(chunks), key));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sign`,
    algs,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
