import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openSecret, sealSecret } from "../../src/services/secret";

const OTHER_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));

describe("secrets at rest (AES-256-GCM)", () => {
  it("round-trips, with a fresh IV each time and no plaintext in the sealed form", async () => {
    const a = await sealSecret(env, "hunter2-password");
    const b = await sealSecret(env, "hunter2-password");
    expect(a).not.toBe(b);
    expect(a).not.toContain("hunter2");
    expect(a).toMatch(/^v1\.[0-9a-f]{12}\./);
    expect(await openSecret(env, a)).toBe("hunter2-password");
  });

  it("still opens what the previous key sealed after rotation", async () => {
    const sealed = await sealSecret({ ...env, ENCRYPTION_KEY: OTHER_KEY }, "old secret");
    await expect(openSecret(env, sealed)).rejects.toThrow();
    expect(await openSecret({ ...env, ENCRYPTION_KEY_PREVIOUS: OTHER_KEY }, sealed)).toBe("old secret");
  });

  it("refuses a tampered ciphertext", async () => {
    const sealed = await sealSecret(env, "value");
    const tampered = sealed.slice(0, -2) + (sealed.endsWith("A") ? "BB" : "AA");
    await expect(openSecret(env, tampered)).rejects.toThrow();
  });
});
