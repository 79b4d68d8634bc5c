import { describe, expect, it } from "vitest";
import { hashPassword, SCRYPT_PARAMS, verifyPassword } from "./password.js";

describe("reviewer passwords", () => {
  it("are stored as salted scrypt hashes that carry their parameters", async () => {
    const a = await hashPassword("correct horse battery staple");
    const b = await hashPassword("correct horse battery staple");
    expect(a).toMatch(
      new RegExp(`^scrypt\\$N=${SCRYPT_PARAMS.N},r=8,p=1\\$[A-Za-z0-9+/=]{24}\\$[A-Za-z0-9+/=]{44}$`),
    );
    expect(a).not.toBe(b); // salted
    expect(a).not.toContain("correct horse");
    expect(await verifyPassword(a, "correct horse battery staple")).toBe(true);
    expect(await verifyPassword(a, "correct horse battery stapler")).toBe(false);
    expect(await verifyPassword("not a hash", "anything")).toBe(false);
  });

  it("verify against the parameters stored with the hash, so old hashes survive a change of defaults", async () => {
    const { scryptSync } = await import("node:crypto");
    const salt = Buffer.from("0123456789abcdef");
    const key = scryptSync("old password 1", salt, 32, { N: 1024, r: 8, p: 1 });
    const stored = `scrypt$N=1024,r=8,p=1$${salt.toString("base64")}$${key.toString("base64")}`;
    expect(await verifyPassword(stored, "old password 1")).toBe(true);
    expect(await verifyPassword(stored, "old password 2")).toBe(false);
  });
});
