import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

/**
 * Encrypted backup format, version 1: a header, then AES-256-GCM chunks.
 *
 * Header (60 bytes): magic "DSYNCENC" | version u8 | scrypt log2(N) u8 | r u8 | p u8 | salt (16) |
 * nonce base (12) | chunk size u32 BE | key check (16).
 * Chunk i: ciphertext of up to `chunk size` plaintext bytes + 16-byte tag, nonce = base XOR i (last 8
 * bytes), AAD = header | final flag. Every chunk but the last holds exactly `chunk size` bytes; the last
 * one (possibly empty) carries the final flag, so a file cut at a chunk boundary fails authentication.
 * The key comes from the passphrase through scrypt with the header's salt and parameters, so the
 * passphrase alone is enough to restore. The key check tells a wrong passphrase from a damaged file.
 */
export const ENCRYPTION_MAGIC = Buffer.from("DSYNCENC", "ascii");
const FORMAT_VERSION = 1;
const HEADER_LENGTH = 60;
const TAG_LENGTH = 16;
const DEFAULT_CHUNK_SIZE = 64 * 1024;
const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** Refuse headers asking for more than 2^20 × r 128-byte blocks, so a forged file cannot exhaust memory. */
const MAX_LOG2_N = 20;
const KEY_CHECK_LABEL = "DataSync key check v1";

export interface ScryptParameters {
  log2N: number;
  r: number;
  p: number;
}

/** 2^15 × 8 × 128 B = 32 MiB per derivation: OWASP's scrypt baseline. */
export const DEFAULT_SCRYPT: ScryptParameters = { log2N: 15, r: 8, p: 1 };

export class DecryptionError extends Error {
  override name = "DecryptionError";
}

function deriveKey(passphrase: string, salt: Buffer, params: ScryptParameters): Promise<Buffer> {
  const N = 2 ** params.log2N;
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize("NFC"), salt, 32, { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

function keyCheck(key: Buffer): Buffer {
  return createHmac("sha256", key).update(KEY_CHECK_LABEL).digest().subarray(0, 16);
}

function chunkNonce(base: Buffer, index: number): Buffer {
  const nonce = Buffer.from(base);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(index));
  for (let i = 0; i < 8; i++) nonce[4 + i] ^= counter[i];
  return nonce;
}

function chunkAad(header: Buffer, final: boolean): Buffer {
  return Buffer.concat([header, Buffer.from([final ? 1 : 0])]);
}

export interface EncryptOptions {
  scrypt?: ScryptParameters;
  chunkSize?: number;
}

/** A Transform that turns plaintext into the version-1 encrypted format. */
export function createEncryptStream(passphrase: string, options: EncryptOptions = {}): Transform {
  const params = options.scrypt ?? DEFAULT_SCRYPT;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const salt = randomBytes(16);
  const nonceBase = randomBytes(12);
  let key: Buffer;
  let header: Buffer;
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  let headerSent = false;
  const sendHeader = (stream: Transform) => {
    if (headerSent) return;
    stream.push(header);
    headerSent = true;
  };

  const sealChunk = (plain: Buffer, final: boolean): Buffer => {
    const cipher = createCipheriv("aes-256-gcm", key, chunkNonce(nonceBase, index++));
    cipher.setAAD(chunkAad(header, final));
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  };

  return new Transform({
    construct(callback) {
      deriveKey(passphrase, salt, params).then((derived) => {
        key = derived;
        header = Buffer.alloc(HEADER_LENGTH);
        ENCRYPTION_MAGIC.copy(header, 0);
        header.writeUInt8(FORMAT_VERSION, 8);
        header.writeUInt8(params.log2N, 9);
        header.writeUInt8(params.r, 10);
        header.writeUInt8(params.p, 11);
        salt.copy(header, 12);
        nonceBase.copy(header, 28);
        header.writeUInt32BE(chunkSize, 40);
        keyCheck(key).copy(header, 44);
        callback();
      }, callback);
    },
    transform(data: Buffer, _encoding, callback: TransformCallback) {
      sendHeader(this);
      pending = pending.length ? Buffer.concat([pending, data]) : data;
      while (pending.length >= chunkSize) {
        this.push(sealChunk(pending.subarray(0, chunkSize), false));
        pending = pending.subarray(chunkSize);
      }
      callback();
    },
    flush(callback: TransformCallback) {
      sendHeader(this);
      this.push(sealChunk(pending, true));
      callback();
    },
  });
}

/** What a file's header yields for decrypting its chunks. */
interface FileKey {
  header: Buffer;
  key: Buffer;
  nonceBase: Buffer;
  chunkSize: number;
}

/** Checks a 60-byte header and derives its key; a wrong passphrase is told apart from a damaged file. */
async function openHeader(candidate: Buffer, passphrase: string): Promise<FileKey> {
  if (!candidate.subarray(0, 8).equals(ENCRYPTION_MAGIC)) throw new DecryptionError("Not a DataSync encrypted backup file.");
  const version = candidate.readUInt8(8);
  if (version !== FORMAT_VERSION) throw new DecryptionError(`Unsupported encrypted file version ${version}.`);
  const params = { log2N: candidate.readUInt8(9), r: candidate.readUInt8(10), p: candidate.readUInt8(11) };
  if (params.log2N < 10 || params.log2N > MAX_LOG2_N || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) {
    throw new DecryptionError("The encrypted file's key parameters are out of range.");
  }
  const chunkSize = candidate.readUInt32BE(40);
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new DecryptionError("The encrypted file's chunk size is out of range.");
  const key = await deriveKey(passphrase, candidate.subarray(12, 28), params);
  if (!timingSafeEqual(keyCheck(key), candidate.subarray(44, 60))) throw new DecryptionError("Wrong passphrase for this backup file.");
  return { header: Buffer.from(candidate), key, nonceBase: Buffer.from(candidate.subarray(28, 40)), chunkSize };
}

function openChunk(file: FileKey, index: number, sealed: Buffer, final: boolean): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", file.key, chunkNonce(file.nonceBase, index));
  decipher.setAAD(chunkAad(file.header, final));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH)), decipher.final()]);
}

/** Opens chunk `index`, or says why not: a truncated file (a middle chunk where the last should be) or damage. */
function openChunkOrExplain(file: FileKey, index: number, sealed: Buffer, final: boolean): Buffer {
  try {
    return openChunk(file, index, sealed, final);
  } catch {
    if (final && sealed.length === file.chunkSize + TAG_LENGTH) {
      let middleChunk = false;
      try {
        openChunk(file, index, sealed, false);
        middleChunk = true;
      } catch {
        // Not a middle chunk either: plain damage, reported below.
      }
      if (middleChunk) throw new DecryptionError("The backup file is truncated: its last part is missing.");
    }
    throw new DecryptionError(`The backup file is damaged or was tampered with (chunk ${index + 1} failed authentication).`);
  }
}

/** Why input that ended before a whole header arrived cannot be decrypted. */
function headerlessEndError(pending: Buffer): DecryptionError {
  const startsLikeOurs = pending.subarray(0, 8).equals(ENCRYPTION_MAGIC.subarray(0, Math.min(8, pending.length)));
  return new DecryptionError(
    pending.length && !startsLikeOurs ? "Not a DataSync encrypted backup file." : "The backup file is truncated: its header is incomplete.",
  );
}

/** A Transform that checks and decrypts the version-1 format; any damage or truncation is an error. */
export function createDecryptStream(passphrase: string): Transform {
  let file: FileKey | undefined;
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;

  const drainFullChunks = (stream: Transform, opened: FileKey) => {
    // Keep the last chunk back until the input ends: only then do we know it is the final one.
    const sealedLength = opened.chunkSize + TAG_LENGTH;
    while (pending.length > sealedLength) {
      stream.push(openChunkOrExplain(opened, index++, pending.subarray(0, sealedLength), false));
      pending = pending.subarray(sealedLength);
    }
  };
  const settle = (callback: TransformCallback, step: () => void) => {
    try {
      step();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  };

  return new Transform({
    transform(data: Buffer, _encoding, callback: TransformCallback) {
      pending = pending.length ? Buffer.concat([pending, data]) : data;
      if (file) return settle(callback, () => drainFullChunks(this, file!));
      if (pending.length < HEADER_LENGTH) return callback();
      const candidate = Buffer.from(pending.subarray(0, HEADER_LENGTH));
      pending = pending.subarray(HEADER_LENGTH);
      openHeader(candidate, passphrase).then((opened) => {
        file = opened;
        settle(callback, () => drainFullChunks(this, opened));
      }, callback);
    },
    flush(callback: TransformCallback) {
      if (!file) return callback(headerlessEndError(pending));
      if (pending.length < TAG_LENGTH) return callback(new DecryptionError("The backup file is truncated: its last part is missing."));
      const opened = file;
      settle(callback, () => this.push(openChunkOrExplain(opened, index++, pending, true)));
    },
  });
}

/** True when the bytes start like a DataSync encrypted file. */
export function isEncryptedHeader(firstBytes: Buffer): boolean {
  return firstBytes.length >= 8 && firstBytes.subarray(0, 8).equals(ENCRYPTION_MAGIC);
}
