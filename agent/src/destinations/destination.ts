import { Writable, type Readable } from "node:stream";
import type { FileDigest } from "../pipeline/checksum.ts";
import type { Credential, CredentialLookup } from "../types.ts";

/** A destination as `job.upsert` describes it. */
export interface DestinationSpec {
  destinationId: string;
  name: string;
  type: string;
  settings: Record<string, unknown>;
  credentialReferenceId?: string | null;
}

/** One file being written: stream the bytes, then `commit` publishes it (atomically where the store allows). */
export interface Upload {
  readonly stream: Writable;
  /** Publishes the file and its `.sha256` companion; returns where it now lives. */
  commit(digest: FileDigest): Promise<void>;
  /** Removes whatever was partly written. Safe to call after a failure at any point. */
  abort(): Promise<void>;
}

export interface Destination {
  readonly spec: DestinationSpec;
  open(fileName: string): Promise<Upload>;
  /** Deletes a file this agent wrote (and its `.sha256`); a file already gone is not an error. */
  remove(fileName: string): Promise<void>;
  /** Streams a file back (for restore); a missing file is a DestinationError saying so. */
  download(fileName: string): Promise<Readable>;
  close(): Promise<void>;
}

export class DestinationError extends Error {
  override name = "DestinationError";
}

export function requiredSetting(spec: DestinationSpec, key: string): string {
  const value = spec.settings?.[key];
  if (typeof value !== "string" || value === "") {
    throw new DestinationError(`Destination "${spec.name}" (${spec.type}) has no "${key}" setting.`);
  }
  return value;
}

/** The text of a prefix setting as a key prefix: no leading slash, one trailing slash unless empty. */
export function keyPrefix(spec: DestinationSpec): string {
  const prefix = typeof spec.settings.prefix === "string" ? spec.settings.prefix.replace(/^\/+/, "") : "";
  return prefix && !prefix.endsWith("/") ? `${prefix}/` : prefix;
}

/** The destination's credential, received from the platform and of one of the `$type`s it can use. */
export function destinationCredential<T extends Credential["$type"]>(
  spec: DestinationSpec,
  credentials: CredentialLookup,
  accepted: readonly T[],
  hint: string,
): Extract<Credential, { $type: T }> {
  if (!spec.credentialReferenceId) throw new DestinationError(`Destination "${spec.name}" (${spec.type}) has no credential: give it ${hint}.`);
  const credential = credentials.get(spec.credentialReferenceId);
  if (!credential) throw new DestinationError(`Destination "${spec.name}": credential ${spec.credentialReferenceId} has not been received from the platform yet.`);
  if (!(accepted as readonly string[]).includes(credential.$type)) throw new DestinationError(`Destination "${spec.name}" needs ${hint}, not a ${credential.$type}.`);
  return credential as Extract<Credential, { $type: T }>;
}

/**
 * The write side of an object-store upload: what is written is gathered into pieces of `pieceSize`
 * bytes, each handed to `send` in turn (the stream waits for it: memory stays at one piece). A file
 * smaller than one piece is never sent: `takeRest()` gives it to the commit for a single upload.
 */
export function streamInPieces(pieceSize: number, send: (piece: Uint8Array<ArrayBuffer>) => Promise<void>) {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let piecesSent = 0;
  const takeRest = (): Uint8Array<ArrayBuffer> => {
    const body = new Uint8Array(pendingBytes);
    let offset = 0;
    for (const chunk of pending) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    pending = [];
    pendingBytes = 0;
    return body;
  };
  const sendPending = (callback: (error?: Error | null) => void) => {
    piecesSent++;
    send(takeRest()).then(() => callback(), callback);
  };
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < pieceSize) return callback();
      sendPending(callback);
    },
    final(callback) {
      // Once pieces went out, the rest is the last piece; a small file waits whole for the commit.
      if (piecesSent === 0 || pendingBytes === 0) return callback();
      sendPending(callback);
    },
  });
  return {
    stream,
    /** Whether any piece was sent (then the commit completes a multi-piece upload). */
    sentPieces: () => piecesSent > 0,
    takeRest,
  };
}

export const CHECKSUM_SUFFIX = ".sha256";
