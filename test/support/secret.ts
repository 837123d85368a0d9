import { base64url, fromBase64, sha256Hex } from "../../src/lib/crypto";

/** How release 1 sealed: `v1.`, no additional data (kept to prove such rows still open and get bound). */
export async function sealUnbound(key: string, plaintext: string): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey("raw", fromBase64(key), "AES-GCM", false, ["encrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, cryptoKey, new TextEncoder().encode(plaintext));
  const keyId = (await sha256Hex(`datasync-key-id:${key}`)).slice(0, 12);
  return `v1.${keyId}.${base64url(iv)}.${base64url(new Uint8Array(ciphertext))}`;
}
