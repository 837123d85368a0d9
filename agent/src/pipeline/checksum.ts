import { createHash } from "node:crypto";
import { Transform } from "node:stream";

export interface FileDigest {
  /** `sha256:<hex>` as the protocol reports it. */
  checksum: string;
  size: number;
}

/** A pass-through that hashes and counts what flows through it; `result()` is ready once it has flushed. */
export class DigestTap extends Transform {
  private readonly hash = createHash("sha256");
  private bytes = 0;
  private digest: FileDigest | undefined;
  private onBytes: ((total: number) => void) | undefined;

  constructor(onBytes?: (total: number) => void) {
    super();
    this.onBytes = onBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void) {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    callback(null, chunk);
  }

  override _flush(callback: () => void) {
    this.digest = { checksum: `sha256:${this.hash.digest("hex")}`, size: this.bytes };
    callback();
  }

  result(): FileDigest {
    if (!this.digest) throw new Error("The digest is read before the stream ended.");
    return this.digest;
  }
}

/** sha256sum-compatible line, stored beside each backup file so a restore can verify it offline. */
export function checksumFileContent(fileName: string, checksum: string): string {
  return `${checksum.replace(/^sha256:/, "")}  ${fileName}\n`;
}

export function parseChecksumFile(content: string): string {
  const hex = content.trim().split(/\s+/)[0] ?? "";
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error("The checksum file does not hold a SHA-256 hex digest.");
  return `sha256:${hex.toLowerCase()}`;
}
