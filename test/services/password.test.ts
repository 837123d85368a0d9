import { scrypt } from "node:crypto";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { base64url } from "../../src/lib/crypto";
import { SCRYPT_PARAMS, hashPassword, verifyPassword } from "../../src/services/password";
import { createSubscriber, db } from "../helpers";
import { login } from "../support/auth";

describe("password hashing (scrypt from node:crypto)", () => {
  it("is pinned at N=32768, r=8, p=1 with a 16-byte salt and a 64-byte key, stored beside the hash", async () => {
    expect(SCRYPT_PARAMS).toMatchObject({ N: 32768, r: 8, p: 1, keyLength: 64, saltLength: 16 });
    const stored = await hashPassword("Lighthouse-Orbit-42");
    const [scheme, n, r, p, salt, key] = stored.split("$");
    expect([scheme, n, r, p]).toEqual(["scrypt", "32768", "8", "1"]);
    expect(Buffer.from(salt, "base64url")).toHaveLength(16);
    expect(Buffer.from(key, "base64url")).toHaveLength(64);
    expect(stored).not.toContain("Lighthouse");
  });

  it("salts every hash and verifies only the right password", async () => {
    const a = await hashPassword("Lighthouse-Orbit-42");
    const b = await hashPassword("Lighthouse-Orbit-42");
    expect(a).not.toBe(b);
    expect(await verifyPassword("Lighthouse-Orbit-42", a)).toBe(true);
    expect(await verifyPassword("Lighthouse-Orbit-43", a)).toBe(false);
    expect(await verifyPassword("Lighthouse-Orbit-42", "not-a-hash")).toBe(false);
  });

  it("verifies with the parameters stored in the hash, so they can be raised later", async () => {
    const salt = new Uint8Array(16).fill(7);
    const key = await new Promise<Buffer>((resolve, reject) =>
      scrypt("Older-Cheaper-Hash-1", salt, 32, { N: 1024, r: 8, p: 1 }, (err, k) => (err ? reject(err) : resolve(k))),
    );
    const older = `scrypt$1024$8$1$${base64url(salt)}$${base64url(key)}`;
    expect(await verifyPassword("Older-Cheaper-Hash-1", older)).toBe(true);
    expect(await verifyPassword("Older-Cheaper-Hash-2", older)).toBe(false);
  });

  it("a release 1 hash (N=2^14) is upgraded at the next successful login, and still logs in after", async () => {
    const password = "Release-One-Password-1";
    const { email, userId } = await createSubscriber({ password });
    const salt = new Uint8Array(16).fill(9);
    const key = await new Promise<Buffer>((resolve, reject) =>
      scrypt(password, salt, 64, { N: 16384, r: 8, p: 1 }, (err, k) => (err ? reject(err) : resolve(k))),
    );
    const releaseOne = `scrypt$16384$8$1$${base64url(salt)}$${base64url(key)}`;
    await db().update(users).set({ passwordHash: releaseOne }).where(eq(users.id, userId));
    const storedHash = async () => (await db().select({ hash: users.passwordHash }).from(users).where(eq(users.id, userId)))[0].hash;

    expect((await login(email, "Wrong-Password-999")).status).toBe(401);
    expect(await storedHash()).toBe(releaseOne);
    expect((await login(email, password)).status).toBe(200);
    const upgraded = await storedHash();
    expect(upgraded).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword(password, upgraded)).toBe(true);
    expect((await login(email, password)).status).toBe(200);
    expect(await storedHash()).toBe(upgraded);
  });
});
