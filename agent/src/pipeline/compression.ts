import zlib from "node:zlib";
import type { Transform } from "node:stream";

export type Compression = "gzip" | "zstd";

/** zstd streams arrived in newer Node releases; older ones fall back to gzip. */
export function zstdAvailable(): boolean {
  return typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === "function";
}

/** The compression actually used for a wish from agent.json. */
export function effectiveCompression(wanted: Compression | undefined): Compression {
  return wanted === "zstd" && zstdAvailable() ? "zstd" : "gzip";
}

export function compressionExtension(compression: Compression): string {
  return compression === "zstd" ? "zst" : "gz";
}

export function createCompressor(compression: Compression): Transform {
  return compression === "zstd" ? zlib.createZstdCompress() : zlib.createGzip({ level: 6 });
}

/** Chooses the decompressor from the file name's extension (`.gz` or `.zst`, before any `.enc`). */
export function createDecompressorForName(fileName: string): Transform {
  const name = fileName.replace(/\.enc$/, "");
  if (name.endsWith(".gz")) return zlib.createGunzip();
  if (name.endsWith(".zst")) {
    if (!zstdAvailable()) throw new Error("This file is zstd-compressed and this Node version cannot decompress zstd.");
    return zlib.createZstdDecompress();
  }
  throw new Error(`Cannot tell how "${fileName}" is compressed: expected a name ending in .gz, .zst, .gz.enc or .zst.enc.`);
}
