import { createHash, randomBytes } from "node:crypto";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { type Account, accounts, apiKeys } from "../db/schema/index.js";
import { newId } from "../ids.js";

const KEY_PREFIX = "em_";

/** Hash under which a key is stored. Keys carry 192 random bits, so a fast hash is enough. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export async function createAccount(
  db: Db,
  name: string,
  opts: { operator?: boolean } = {},
): Promise<Account> {
  const [row] = await db
    .insert(accounts)
    .values({ id: newId("acc"), name, isOperator: opts.operator ?? false })
    .returning();
  return row!;
}

export async function findAccountByName(db: Db, name: string): Promise<Account | null> {
  const [row] = await db.select().from(accounts).where(eq(accounts.name, name));
  return row ?? null;
}

export async function listAccounts(db: Db): Promise<Account[]> {
  return db.select().from(accounts).orderBy(accounts.createdAt);
}

/**
 * Creates an API key for an account and returns it in clear — the only time it exists outside the client.
 *
 * @example
 * const { key } = await createApiKey(db, account.id, "ci");
 */
export async function createApiKey(
  db: Db,
  accountId: string,
  name: string | null = null,
): Promise<{ id: string; key: string; prefix: string }> {
  const key = KEY_PREFIX + randomBytes(24).toString("base64url");
  const id = newId("key");
  const prefix = key.slice(0, 10);
  await db.insert(apiKeys).values({ id, accountId, prefix, hash: hashApiKey(key), name });
  return { id, key, prefix };
}

/** The account an API key belongs to, or null for unknown or revoked keys. */
export async function authenticateApiKey(db: Db, key: string): Promise<Account | null> {
  if (!key.startsWith(KEY_PREFIX)) return null;
  const [row] = await db
    .select({ account: accounts, keyId: apiKeys.id, lastUsedAt: apiKeys.lastUsedAt })
    .from(apiKeys)
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
    .where(and(eq(apiKeys.hash, hashApiKey(key)), isNull(apiKeys.revokedAt)));
  if (!row) return null;
  // Last use to the minute is enough, and saves a write on almost every request. Best effort.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db
      .update(apiKeys)
      .set({ lastUsedAt: sql`now()` })
      .where(eq(apiKeys.id, row.keyId))
      .catch(() => {});
  }
  return row.account;
}

export async function listApiKeys(db: Db, accountId?: string) {
  const q = db
    .select({
      id: apiKeys.id,
      account: accounts.name,
      prefix: apiKeys.prefix,
      name: apiKeys.name,
      createdAt: apiKeys.createdAt,
      lastUsedAt: apiKeys.lastUsedAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId));
  return accountId ? q.where(eq(apiKeys.accountId, accountId)) : q;
}

export async function revokeApiKey(db: Db, keyId: string): Promise<boolean> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}

export async function countActiveApiKeys(db: Db): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(apiKeys)
    .where(isNull(apiKeys.revokedAt));
  return row?.n ?? 0;
}
