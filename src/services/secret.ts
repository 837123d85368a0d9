import { base64url, fromBase64, sha256Hex } from "../lib/crypto";

/**
 * Secrets the platform must read back (credential fields, encryption passphrases, webhook signing
 * secrets, commands queued for an agent) are sealed with AES-256-GCM under `ENCRYPTION_KEY`, a fresh
 * 96-bit IV each time, and bound to the row that holds them: the row's identity is the additional
 * authenticated data, so a sealed value copied into another row (another tenant's webhook, another
 * agent's job) does not open. The sealed form `v2.<keyId>.<iv>.<ciphertext>` names its key, so
 * `ENCRYPTION_KEY` can be rotated: the old one moves to `ENCRYPTION_KEY_PREVIOUS` and everything it
 * sealed still opens until the daily re-seal (secret-rotation.ts) has sealed it again under the new key. `v1.` values (release 1, no binding) still open and are re-sealed when their row
 * is next written (`resealIfUnbound`).
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

type SecretEnv = Pick<Env, "ENCRYPTION_KEY" | "ENCRYPTION_KEY_PREVIOUS">;

/** What each sealed value is bound to: its table and row id, plus anything it must not move away from. */
export const SECRET_BINDINGS = {
  webhookSecret: (webhookId: string) => `webhooks:${webhookId}`,
  credential: (credentialId: string) => `credentials:${credentialId}`,
  /** A passphrase opens only for the agent it was given for: a job moved elsewhere cannot carry it along. */
  passphrase: (backupJobId: string, agentId: string | null) => `backup_jobs:${backupJobId}:agent:${agentId ?? ""}`,
  agentCommand: (commandId: string) => `agent_commands:${commandId}`,
  totpSecret: (userId: string) => `users:${userId}:totp`,
};

/** Encrypts a string (e.g. JSON of a credential's secret fields) for storage in the row `boundTo` names. */
export async function sealSecret(env: SecretEnv, plaintext: string, boundTo: string): Promise<string> {
  const { keyId, key } = await sealingKey(env.ENCRYPTION_KEY);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const additionalData = new TextEncoder().encode(boundTo);
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, key, new TextEncoder().encode(plaintext));
  return `v2.${keyId}.${base64url(iv)}.${base64url(new Uint8Array(ciphertext))}`;
}

/** Whether a stored value is sealed (the agent queue keeps plain JSON for commands without secrets). */
export const isSealed = (value: string) => value.startsWith("v2.") || value.startsWith("v1.");

/**
 * Decrypts what `sealSecret` produced for the same `boundTo`, with the current or the previous key.
 * Throws if it was tampered with or belongs to another row.
 */
export async function openSecret(env: SecretEnv, sealed: string, boundTo: string): Promise<string> {
  const [version, keyId, iv, ciphertext] = sealed.split(".");
  if ((version !== "v1" && version !== "v2") || !ciphertext) throw new Error("Unrecognised sealed secret");
  const candidates = [env.ENCRYPTION_KEY, env.ENCRYPTION_KEY_PREVIOUS].filter((k): k is string => Boolean(k));
  for (const candidate of candidates) {
    const { keyId: id, key } = await sealingKey(candidate);
    if (id !== keyId) continue;
    const additionalData = version === "v2" ? { additionalData: new TextEncoder().encode(boundTo) } : {};
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(iv), ...additionalData }, key, fromBase64(ciphertext));
    return new TextDecoder().decode(plain);
  }
  throw new Error("Sealed with a key that is no longer configured");
}

/**
 * How every value sealed under the current `ENCRYPTION_KEY` begins: what a query compares a column's
 * prefix with to find values still to re-seal after a rotation (secret-rotation.ts).
 */
export async function currentSealPrefix(env: SecretEnv): Promise<string> {
  return `v2.${(await sealingKey(env.ENCRYPTION_KEY)).keyId}.`;
}

/** A value sealed under the current key and bound to its row, opened with whichever key sealed it. */
export async function resealUnderCurrentKey(env: SecretEnv, sealed: string, boundTo: string): Promise<string> {
  return sealSecret(env, await openSecret(env, sealed, boundTo), boundTo);
}

/** A release-1 (`v1.`, unbound) value sealed again bound to its row; anything else unchanged. */
export async function resealIfUnbound(env: SecretEnv, sealed: string, boundTo: string): Promise<string> {
  return sealed.startsWith("v1.") ? resealUnderCurrentKey(env, sealed, boundTo) : sealed;
}
