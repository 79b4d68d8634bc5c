import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/**
 * scrypt (memory-hard) with OWASP's suggested floor for it: N = 2^15, r = 8, p = 1 — 32 MiB and ~0.1 s per
 * hash. The parameters are stored with each hash, so raising them later leaves old hashes verifiable.
 */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_BYTES = 16;

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const maxmem = (p: { N: number; r: number }) => 128 * p.N * p.r * 2;

/**
 * Hashes a password as `scrypt$N=32768,r=8,p=1$<salt base64>$<hash base64>`.
 *
 * @example
 * const stored = await hashPassword("correct horse battery staple");
 * await verifyPassword(stored, "correct horse battery staple"); // true
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const { N, r, p } = SCRYPT_PARAMS;
  const key = await scryptAsync(password, salt, KEY_LENGTH, { N, r, p, maxmem: maxmem({ N, r }) });
  return `scrypt$N=${N},r=${r},p=${p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Checks a password against a stored hash (constant-time comparison). A malformed hash never verifies. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const m = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5]!, "base64");
  const key = await scryptAsync(password, Buffer.from(m[4]!, "base64"), expected.length, {
    N,
    r,
    p,
    maxmem: maxmem({ N, r }),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of nothing anyone knows: verified against when the email is unknown, so both cases take as long. */
let decoy: Promise<string> | null = null;
export const decoyHash = () => {
  decoy ??= hashPassword(randomBytes(16).toString("hex"));
  return decoy;
};

export const MIN_PASSWORD_LENGTH = 12;
