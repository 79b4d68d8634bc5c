/**
 * @peculiar/x509, the pure-JavaScript X.509 library used to generate and inspect certificates (node:crypto
 * parses certificates but cannot create them). It needs the Reflect metadata API for its dependency
 * injection, loaded before it: import it from here, never directly.
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
