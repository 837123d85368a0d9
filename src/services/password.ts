import { scrypt, timingSafeEqual } from "node:crypto";
import { base64url, fromBase64, randomBytes } from "../lib/crypto";

/**
 * scrypt is memory-hard and native in workerd (production Workers cap PBKDF2 at 100,000 iterations).
 * N=2^15, r=8, p=1: 32 MiB and 2 × release 1's N=2^14 (`npm run bench:scrypt`: ~134 ms of CPU per
 * verification on the benchmark machine, 1.97 × the old cost in the same run). The next steps up cost
 * ~250 ms of CPU (p=2) or 64 MiB (N=2^16): over the login budget, or room for only one concurrent login in
 * a Worker isolate's 128 MB. The parameters are stored with each hash; older hashes are upgraded at the
 * next successful login (`needsRehash`).
 */
export const SCRYPT_PARAMS = { N: 32768, r: 8, p: 1, keyLength: 64, saltLength: 16 } as const;

function derive(password: string, salt: Uint8Array, N: number, r: number, p: number, keyLength: number) {
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, keyLength, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const { N, r, p, keyLength, saltLength } = SCRYPT_PARAMS;
  const salt = randomBytes(saltLength);
  const key = await derive(password, salt, N, r, p, keyLength);
  return `scrypt$${N}$${r}$${p}$${base64url(salt)}$${base64url(key)}`;
}

/** A hash made with other parameters than today's: rehash it while the password is at hand (a login). */
export function needsRehash(stored: string): boolean {
  const { N, r, p } = SCRYPT_PARAMS;
  return !stored.startsWith(`scrypt$${N}$${r}$${p}$`);
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !hash) return false;
  const expected = fromBase64(hash);
  const actual = await derive(password, fromBase64(salt), Number(n), Number(r), Number(p), expected.length);
  return timingSafeEqual(actual, expected);
}

/** A hash of a random password, verified against when the email is unknown so both paths cost the same. */
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(base64url(randomBytes(16)));
  return decoyHash;
}
