import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DigestTap } from "./checksum.ts";
import { createDecompressorForName } from "./compression.ts";
import { createDecryptStream, isEncryptedHeader } from "./encryption.ts";

export class ChecksumMismatchError extends Error {
  override name = "ChecksumMismatchError";
}

export async function fileChecksum(path: string): Promise<string> {
  const tap = new DigestTap();
  await pipeline(createReadStream(path), tap, async function* (source) {
    for await (const _ of source); // drain: only the digest matters
  });
  return tap.result().checksum;
}

export async function isEncryptedFile(path: string): Promise<boolean> {
  const handle = await open(path, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(8), 0, 8, 0);
    return isEncryptedHeader(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** Throws unless the stored file's SHA-256 is the expected `sha256:<hex>`. */
export async function verifyChecksum(path: string, expected: string): Promise<void> {
  const actual = await fileChecksum(path);
  if (actual !== expected.toLowerCase()) {
    throw new ChecksumMismatchError(`Checksum mismatch: the file has ${actual}, expected ${expected}.`);
  }
}

/** file → (decrypt) → decompress → sink. Verify the checksum first: this streams into the sink as it goes. */
export async function decodeBackupFile(options: { path: string; passphrase?: string; sink: Writable }): Promise<void> {
  const encrypted = await isEncryptedFile(options.path);
  if (encrypted && options.passphrase === undefined) throw new Error("This backup file is encrypted: give its passphrase with --passphrase.");
  const stages: Array<NodeJS.ReadableStream | NodeJS.ReadWriteStream | NodeJS.WritableStream> = [createReadStream(options.path)];
  if (encrypted) stages.push(createDecryptStream(options.passphrase!));
  stages.push(createDecompressorForName(options.path), options.sink);
  await pipeline(stages);
}
