import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DigestTap, type FileDigest } from "./checksum.ts";
import { createCompressor, type Compression } from "./compression.ts";
import { createEncryptStream, type EncryptOptions } from "./encryption.ts";
import { FanOut } from "./fan-out.ts";

export interface BackupPipelineOptions {
  source: Readable;
  compression: Compression;
  /** Encrypts when set. */
  passphrase?: string;
  encryptOptions?: EncryptOptions;
  targets: Writable[];
  /** Called with the number of bytes written so far (after compression and encryption). */
  onBytes?: (total: number) => void;
}

/** dump → compress → (encrypt) → SHA-256 → every target, streaming end to end. */
export async function runBackupPipeline(options: BackupPipelineOptions): Promise<FileDigest> {
  const tap = new DigestTap(options.onBytes);
  const stages = [options.source, createCompressor(options.compression)];
  if (options.passphrase !== undefined) stages.push(createEncryptStream(options.passphrase, options.encryptOptions));
  await pipeline([...stages, tap, new FanOut(options.targets)]);
  return tap.result();
}
