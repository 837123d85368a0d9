import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import type { ChainPosition, Engine } from "../engines/engine.ts";
import { runWithInput, streamFrom } from "../engines/process.ts";
import { decodeBackupFile } from "../pipeline/restore-pipeline.ts";
import type { BackupMode, DbmsType } from "../types.ts";

/**
 * A physical backup (one link of a chain) is a tar archive: `datasync-backup.json` (the manifest, so a
 * restore needs nothing but the files) and `payload/` (what the engine's own tool wrote). Compression
 * and encryption are the pipeline's, as for dumps.
 */
export const CHAIN_EXTENSION = "tar";
const MANIFEST_NAME = "datasync-backup.json";
const PAYLOAD_NAME = "payload";

export interface ChainManifest {
  format: 1;
  dbmsType: DbmsType;
  database: string;
  backupMode: BackupMode;
  /** The file this one builds on (same folder); null for a Full. */
  baseFileName: string | null;
  createdUtc: string;
  /** The engine's position after this backup (binlog file and offset, WAL LSN...). */
  position: ChainPosition;
}

export interface ExtractedLink {
  manifest: ChainManifest;
  /** The folder holding what the engine's tool wrote. */
  payload: string;
}

/** Stages one physical backup and streams it as a tar archive; `release` removes the staging folder. */
export async function stageChainArchive(
  engine: Engine,
  args: { database: string; mode: BackupMode; previous?: ChainPosition; chainKey: string; baseFileName: string | null; stagingRoot: string },
): Promise<{ stream: Readable; position: ChainPosition; release(): Promise<void> }> {
  if (!engine.stageChainBackup) throw new Error(`The ${engine.dbmsType} engine "${engine.engineKey}" makes no physical backups.`);
  await mkdir(args.stagingRoot, { recursive: true, mode: 0o700 });
  const directory = await mkdtemp(join(args.stagingRoot, "datasync-chain-"));
  const release = () => rm(directory, { recursive: true, force: true });
  try {
    const payload = join(directory, PAYLOAD_NAME);
    await mkdir(payload);
    const position = await engine.stageChainBackup({ database: args.database, mode: args.mode, previous: args.previous, chainKey: args.chainKey, directory: payload });
    const manifest: ChainManifest = {
      format: 1,
      dbmsType: engine.dbmsType,
      database: args.database,
      backupMode: args.mode,
      baseFileName: args.baseFileName,
      // When the engine's tool finished: the earliest moment this backup can restore to.
      createdUtc: new Date().toISOString(),
      position,
    };
    await writeFile(join(directory, MANIFEST_NAME), JSON.stringify(manifest, null, 2));
    const stream = streamFrom({ command: "tar", args: ["--format=posix", "-c", "-C", directory, MANIFEST_NAME, PAYLOAD_NAME] });
    return { stream, position, release };
  } catch (error) {
    await release();
    throw error;
  }
}

/** Decrypts, decompresses and unpacks one chain file into `directory` (checksum verified by the caller). */
export async function extractChainFile(path: string, passphrase: string | undefined, directory: string): Promise<ExtractedLink> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const input = new PassThrough();
  const stopOnFailure = (error: Error) => {
    input.destroy(error);
    throw error;
  };
  await Promise.all([
    decodeBackupFile({ path, passphrase, sink: input }).catch(stopOnFailure),
    runWithInput({ command: "tar", args: ["-x", "--ignore-zeros", "--no-same-owner", "-C", directory, "-f", "-"] }, input).catch(stopOnFailure),
  ]);
  let manifest: ChainManifest;
  try {
    manifest = JSON.parse(await readFile(join(directory, MANIFEST_NAME), "utf8")) as ChainManifest;
  } catch {
    throw new Error(`${path} holds no DataSync chain manifest (${MANIFEST_NAME}).`);
  }
  if (manifest.format !== 1) throw new Error(`${path}: unsupported chain manifest format ${String(manifest.format)}.`);
  return { manifest, payload: join(directory, PAYLOAD_NAME) };
}
