import type { Destination, Upload } from "./destinations/destination.ts";
import type { Engine } from "./engines/engine.ts";
import { runBackupPipeline } from "./pipeline/backup-pipeline.ts";
import { compressionExtension, type Compression } from "./pipeline/compression.ts";
import type { EncryptOptions } from "./pipeline/encryption.ts";
import { backupFileName } from "./pipeline/file-names.ts";
import type { BackupMode } from "./types.ts";

export interface DatabaseBackupResult {
  fileName: string;
  fileSize: number;
  checksum: string;
}

/**
 * One database to every destination in one streaming pass. Either every destination gets the file
 * (published atomically by `commit`) or none keeps a partial one.
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
}): Promise<DatabaseBackupResult> {
  args.engine.assertModeSupported(args.mode);
  const fileName = backupFileName({
    database: args.database,
    mode: args.mode,
    startedAt: args.startedAt,
    dumpExtension: args.engine.dumpExtension,
    compressionExtension: compressionExtension(args.compression),
    encrypted: args.passphrase !== undefined,
  });
  const uploads: Upload[] = [];
  let dump: Awaited<ReturnType<Engine["dump"]>> | undefined;
  try {
    for (const destination of args.destinations) uploads.push(await destination.open(fileName));
    dump = await args.engine.dump(args.database);
    const digest = await runBackupPipeline({
      source: dump.stream,
      compression: args.compression,
      passphrase: args.passphrase,
      encryptOptions: args.encryptOptions,
      targets: uploads.map((upload) => upload.stream),
      onBytes: args.onBytes,
    });
    for (const upload of uploads) await upload.commit(digest);
    return { fileName, fileSize: digest.size, checksum: digest.checksum };
  } catch (error) {
    await Promise.allSettled(uploads.map((upload) => upload.abort()));
    throw error;
  } finally {
    await dump?.release();
  }
}
