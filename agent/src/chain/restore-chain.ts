import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { restoreMariadbChain } from "../engines/mariadb-physical.ts";
import { restoreMysql } from "../engines/mysql.ts";
import { restorePostgres } from "../engines/postgres.ts";
import { restorePostgresChain } from "../engines/postgres-physical.ts";
import type { ServerLogin } from "../engines/engine.ts";
import { verifyChecksum } from "../pipeline/restore-pipeline.ts";
import { extractChainFile, type ExtractedLink } from "./archive.ts";

export interface ChainRestoreOptions {
  /** The chain's last file to apply (a Full, Differential or TransactionLog archive). */
  file: string;
  passphrase?: string;
  /** The checksum of `file`, and of each base file found beside it. */
  checksumOf: (path: string) => Promise<string>;
  scheme: "postgres" | "mariadb";
  target: { login: ServerLogin; database: string };
  /** Replays logs up to this moment (default: to their end). */
  until?: Date;
  /**
   * Runs once every file is verified, decrypted and unpacked, just before the target is written: where
   * an overwrite drops the old database, so a wrong passphrase or a broken chain leaves it as it was.
   */
  beforeApply?: () => Promise<void>;
}

/**
 * Walks from `file` back to its Full through each manifest's `baseFileName` (files in the same folder),
 * verifying and unpacking each, and returns the links in apply order: Full, Differential, logs.
 */
async function unpackChain(options: ChainRestoreOptions, work: string): Promise<ExtractedLink[]> {
  const links: ExtractedLink[] = [];
  for (let path: string | undefined = options.file; path; ) {
    const exists = await access(path).then(() => true, () => false);
    if (!exists) throw new Error(`The chain needs ${basename(path)}, which is not beside ${basename(options.file)}.`);
    await verifyChecksum(path, await options.checksumOf(path));
    const link = await extractChainFile(path, options.passphrase, join(work, `link-${links.length}`));
    links.unshift(link);
    path = link.manifest.baseFileName ? join(dirname(path), link.manifest.baseFileName) : undefined;
  }
  if (links[0]!.manifest.backupMode !== "Full") throw new Error(`The chain of ${basename(options.file)} does not start with a Full backup.`);
  return links;
}

/** Restores a physical chain, optionally to a point in time, into a database of the target server. */
export async function restoreChain(options: ChainRestoreOptions): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "datasync-restore-"));
  try {
    const links = await unpackChain(options, work);
    const lastPhysical = links.filter((link) => link.manifest.backupMode !== "TransactionLog").pop()!;
    if (options.until && options.until.getTime() < Date.parse(lastPhysical.manifest.createdUtc)) {
      throw new Error(
        `--until ${options.until.toISOString()} is before ${lastPhysical.manifest.backupMode} ${lastPhysical.manifest.createdUtc} in this chain: restore from a file made before that time.`,
      );
    }
    const engine = links[0]!.manifest.dbmsType;
    const { login, database } = options.target;
    if (options.scheme === "postgres" && engine !== "PostgreSql") throw new Error(`A ${engine} backup cannot be restored into PostgreSQL.`);
    if (options.scheme === "mariadb" && engine !== "MariaDb" && engine !== "MySql") throw new Error(`A ${engine} backup cannot be restored into MySQL/MariaDB.`);
    await options.beforeApply?.();
    if (options.scheme === "postgres") {
      await restorePostgresChain({ links, until: options.until, workDirectory: work, load: (dump: Readable) => restorePostgres(login, database, "dump", dump) });
    } else {
      await restoreMariadbChain({ links, until: options.until, workDirectory: work, load: (dump: Readable) => restoreMysql(login, database, dump) });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
