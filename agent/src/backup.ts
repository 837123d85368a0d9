import { tmpdir } from "node:os";
import type { Readable } from "node:stream";
import { stageChainArchive, CHAIN_EXTENSION } from "./chain/archive.ts";
import type { Destination, Upload } from "./destinations/destination.ts";
import { assertCapable, type ChainPosition, type Engine } from "./engines/engine.ts";
import { runBackupPipeline } from "./pipeline/backup-pipeline.ts";
import { compressionExtension, type Compression } from "./pipeline/compression.ts";
import type { EncryptOptions } from "./pipeline/encryption.ts";
import { backupFileName } from "./pipeline/file-names.ts";
import type { BackupMode } from "./types.ts";

export interface DatabaseBackupResult {
  fileName: string;
  fileSize: number;
  checksum: string;
  /** Physical backups: the chain's position after this one. */
  position?: ChainPosition;
}

/** A physical backup's place in its chain (Full → Differential → TransactionLog). */
export interface ChainLink {
  /** Stable per job and database. */
  chainKey: string;
  /** The file this backup builds on; null for a Full. */
  baseFileName: string | null;
  /** The position after the chain's previous backup. */
  previous?: ChainPosition;
  /** Where the engine's tool writes before the archive is streamed (default: the OS temp folder). */
  stagingRoot?: string;
}

/**
 * One database to every destination in one streaming pass: a logical dump, or with `chain` a physical
 * backup archive. Either every destination gets the file (published atomically by `commit`) or none
 * keeps a partial one.
 */
export async function backupDatabase(args: {
  engine: Engine;
  database: string;
  mode: BackupMode;
  startedAt: Date;
  destinations: Destination[];
  compression: Compression;
  passphrase?: string;
  encryptOptions?: EncryptOptions;
  onBytes?: (total: number) => void;
  chain?: ChainLink;
}): Promise<DatabaseBackupResult> {
  await assertCapable(args.engine, args.mode);
  if (!args.chain && args.mode !== "Full") throw new Error(`A ${args.mode} backup is a physical one and needs its chain.`);
  const fileName = backupFileName({
    database: args.database,
    mode: args.mode,
    startedAt: args.startedAt,
    dumpExtension: args.chain ? CHAIN_EXTENSION : args.engine.dumpExtension,
    compressionExtension: compressionExtension(args.compression),
    encrypted: args.passphrase !== undefined,
  });
  const uploads: Upload[] = [];
  let source: { stream: Readable; release(): Promise<void>; position?: ChainPosition } | undefined;
  try {
    for (const destination of args.destinations) uploads.push(await destination.open(fileName));
    source = args.chain
      ? await stageChainArchive(args.engine, { ...args.chain, database: args.database, mode: args.mode, stagingRoot: args.chain.stagingRoot ?? tmpdir() })
      : await args.engine.dump(args.database);
    const digest = await runBackupPipeline({
      source: source.stream,
      compression: args.compression,
      passphrase: args.passphrase,
      encryptOptions: args.encryptOptions,
      targets: uploads.map((upload) => upload.stream),
      onBytes: args.onBytes,
    });
    for (const upload of uploads) await upload.commit(digest);
    return { fileName, fileSize: digest.size, checksum: digest.checksum, position: source.position };
  } catch (error) {
    await Promise.allSettled(uploads.map((upload) => upload.abort()));
    throw error;
  } finally {
    await source?.release();
  }
}
