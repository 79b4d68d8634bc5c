/**
 * A real RFC 3161 time-stamp authority for tests: OpenSSL's `openssl ts -reply` behind a local HTTP
 * endpoint, with its own root and a time-stamping certificate (EKU timeStamping, critical) made by the
 * openssl command line. `.ci/run` installs openssl where it is missing.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestTsa {
  url: string;
  /** The TSA's root certificate (PEM): a trust anchor for its time stamps. */
  rootPem: string;
  /** Requests answered so far. */
  requests: number;
  /** Makes the next answers HTTP 503 (true) or normal again (false). */
  failWith(status: number | null): void;
  close(): Promise<void>;
}

export async function startTestTsa(): Promise<TestTsa> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "earmark-tsa-"));
  const ossl = (...args: string[]) => run("openssl", args, { cwd: dir });
  // `openssl req` with a new P-256 key, unencrypted, written to `keyFile`.
  const newKeyRequest = (keyFile: string) =>
    ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile] as const;
  await ossl(
    ...newKeyRequest("root.key"),
    "-x509",
    "-out",
    "root.pem",
    "-days",
    "3650",
    "-subj",
    "/CN=Earmark test TSA root",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  await ossl(...newKeyRequest("tsa.key"), "-out", "tsa.csr", "-subj", "/CN=Earmark test TSA");
  await writeFile(
    path.join(dir, "ext.cnf"),
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n" +
      "extendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
  );
  await ossl(
    "x509",
    "-req",
    "-in",
    "tsa.csr",
    "-CA",
    "root.pem",
    "-CAkey",
    "root.key",
    "-CAcreateserial",
    "-out",
    "tsa.pem",
    "-days",
    "3650",
    "-extfile",
    "ext.cnf",
  );
  await writeFile(path.join(dir, "serial"), "01\n");
  await writeFile(
    path.join(dir, "tsa.cnf"),
    [
      "[ tsa ]",
      "default_tsa = tsa1",
      "[ tsa1 ]",
      `serial = ${dir}/serial`,
      "crypto_device = builtin",
      `signer_cert = ${dir}/tsa.pem`,
      `signer_key = ${dir}/tsa.key`,
      "signer_digest = sha256",
      "default_policy = 1.3.6.1.4.1.99999.1",
      "other_policies = 1.3.6.1.4.1.99999.2",
      "digests = sha256, sha384, sha512",
      "accuracy = secs:1",
      "ordering = no",
      "tsa_name = yes",
      "ess_cert_id_chain = no",
      "ess_cert_id_alg = sha256",
      "",
    ].join("\n"),
  );
  const rootPem = await readFile(path.join(dir, "root.pem"), "utf8");
  let failStatus: number | null = null;
  let requests = 0;
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      requests++;
      if (failStatus !== null) {
        res.writeHead(failStatus).end();
        return;
      }
      const id = n++;
      const query = path.join(dir, `q${id}.tsq`);
      const reply = path.join(dir, `r${id}.tsr`);
      try {
        await writeFile(query, Buffer.concat(chunks));
        await ossl("ts", "-reply", "-config", "tsa.cnf", "-queryfile", query, "-out", reply);
        res.writeHead(200, { "content-type": "application/timestamp-reply" }).end(await readFile(reply));
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/tsa`,
    rootPem,
    get requests() {
      return requests;
    },
    failWith(status) {
      failStatus = status;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
