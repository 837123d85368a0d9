import { base64url, fromBase64, sha256Hex } from "../lib/crypto";

/**
 * Secrets the platform must read back (credential fields, encryption passphrases, webhook signing
 * secrets) are sealed with AES-256-GCM under `ENCRYPTION_KEY`, a fresh 96-bit IV each time. The sealed
 * form `v1.<keyId>.<iv>.<ciphertext>` names its key, so `ENCRYPTION_KEY` can be rotated: the old one
 * moves to `ENCRYPTION_KEY_PREVIOUS` and everything it sealed still opens.
 */
interface SealingKey {
  keyId: string;
  key: CryptoKey;
}

const keyCache = new Map<string, Promise<SealingKey>>();

function sealingKey(base64Key: string): Promise<SealingKey> {
  let cached = keyCache.get(base64Key);
  if (!cached) {
    cached = (async () => {
      const raw = fromBase64(base64Key);
      if (raw.length !== 32) throw new Error("ENCRYPTION_KEY must be base64 of exactly 32 bytes");
      const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
      return { keyId: (await sha256Hex(`datasync-key-id:${base64Key}`)).slice(0, 12), key };
    })();
    keyCache.set(base64Key, cached);
  }
  return cached;
}

/** Encrypts a string (e.g. JSON of a credential's secret fields) for storage. */
export async function sealSecret(env: Env, plaintext: string): Promise<string> {
  const { keyId, key } = await sealingKey(env.ENCRYPTION_KEY);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode(plaintext));
  return `v1.${keyId}.${base64url(iv)}.${base64url(new Uint8Array(ciphertext))}`;
}

/** Decrypts what `sealSecret` produced, with the current or the previous key. Throws if it was tampered with. */
export async function openSecret(env: Env, sealed: string): Promise<string> {
  const [version, keyId, iv, ciphertext] = sealed.split(".");
  if (version !== "v1" || !ciphertext) throw new Error("Unrecognised sealed secret");
  const candidates = [env.ENCRYPTION_KEY, env.ENCRYPTION_KEY_PREVIOUS].filter((k): k is string => Boolean(k));
  for (const candidate of candidates) {
    const { keyId: id, key } = await sealingKey(candidate);
    if (id !== keyId) continue;
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(iv) }, key, fromBase64(ciphertext));
    return new TextDecoder().decode(plain);
  }
  throw new Error("Sealed with a key that is no longer configured");
}
