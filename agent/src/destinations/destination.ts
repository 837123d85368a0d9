import type { Writable } from "node:stream";
import type { FileDigest } from "../pipeline/checksum.ts";

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

export const CHECKSUM_SUFFIX = ".sha256";
