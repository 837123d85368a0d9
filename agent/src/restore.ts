import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { access, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { CHAIN_EXTENSION } from "./chain/archive.ts";
import { restoreChain } from "./chain/restore-chain.ts";
import { restoreMysql } from "./engines/mysql.ts";
import { restorePostgres } from "./engines/postgres.ts";
import type { ServerLogin } from "./engines/engine.ts";
import { assertSqliteIntegrity } from "./engines/restore-target.ts";
import { parseChecksumFile } from "./pipeline/checksum.ts";
import { dumpExtensionOf } from "./pipeline/file-names.ts";
import { decodeBackupFile, verifyChecksum } from "./pipeline/restore-pipeline.ts";

export interface RestoreOptions {
  file: string;
  passphrase?: string;
  /** `postgres://user:pass@host:port/db`, `mysql://…/db` (also `mariadb://`), or a file path. */
  to: string;
  /** `sha256:<hex>` as the platform lists it; otherwise the `.sha256` file beside the backup is used. */
  checksum?: string;
  /** Physical chains: replay logs up to this moment (default: to the end of the last log). */
  until?: Date;
}

export interface RestoreResult {
  checksum: string;
  target: string;
}

async function expectedChecksum(file: string, given?: string): Promise<string> {
  if (given) {
    if (!/^sha256:[0-9a-f]{64}$/i.test(given)) throw new Error("--checksum must look like sha256:<64 hex digits>.");
    return given.toLowerCase();
  }
  try {
    return parseChecksumFile(await readFile(`${file}.sha256`, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`No checksum to verify against: keep ${basename(file)}.sha256 beside the file or pass --checksum sha256:… (listed by GET /api/backupfile).`);
    }
    throw error;
  }
}

function loginFromUrl(url: URL): { login: ServerLogin; database: string } {
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!database) throw new Error(`--to ${url.protocol}//… needs a database name at the end of the URL.`);
  return {
    login: {
      host: url.hostname || "127.0.0.1",
      port: url.port ? Number(url.port) : undefined,
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
    },
    database,
  };
}

/** Streams the decoded dump into a restore tool; a failure on either side stops the other. */
async function decodeInto(options: RestoreOptions, consume: (input: Readable) => Promise<void>): Promise<void> {
  const input = new PassThrough();
  const stopOnFailure = (error: Error) => {
    input.destroy(error);
    throw error;
  };
  await Promise.all([decodeBackupFile({ path: options.file, passphrase: options.passphrase, sink: input }).catch(stopOnFailure), consume(input).catch(stopOnFailure)]);
}

async function writeFileTarget(options: RestoreOptions, dumpExtension: string): Promise<void> {
  const exists = await access(options.to).then(() => true, () => false);
  if (exists) throw new Error(`${options.to} already exists; restore into a new path.`);
  const partial = join(dirname(options.to), `.${basename(options.to)}.${randomUUID()}.partial`);
  try {
    await decodeBackupFile({ path: options.file, passphrase: options.passphrase, sink: createWriteStream(partial, { flags: "wx", mode: 0o600 }) });
    if (dumpExtension === "sqlite") assertSqliteIntegrity(partial);
    await rename(partial, options.to);
  } finally {
    await rm(partial, { force: true });
  }
}

/** A physical backup and the files it builds on (beside it), into a database of the target server. */
async function restoreChainTarget(options: RestoreOptions, scheme: string | undefined): Promise<string> {
  const engine = scheme === "postgres" || scheme === "postgresql" ? "postgres" : scheme === "mysql" || scheme === "mariadb" ? "mariadb" : undefined;
  if (!engine) throw new Error("A physical backup (.tar) restores into a server: --to postgres://…/db, mysql://…/db or mariadb://…/db.");
  await restoreChain({
    file: options.file,
    passphrase: options.passphrase,
    checksumOf: (path) => expectedChecksum(path, path === options.file ? options.checksum : undefined),
    scheme: engine,
    target: loginFromUrl(new URL(options.to)),
    until: options.until,
  });
  return expectedChecksum(options.file, options.checksum);
}

/** Verifies the checksum, then decrypts, decompresses and restores (into a database or a file). */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const dumpExtension = dumpExtensionOf(options.file);
  const scheme = /^([a-z]+):\/\//i.exec(options.to)?.[1]?.toLowerCase();
  if (dumpExtension === CHAIN_EXTENSION) {
    const checksum = await restoreChainTarget(options, scheme);
    return { checksum, target: options.to.replace(/\/\/[^@/]*@/, "//***@") };
  }
  if (options.until) throw new Error("--until applies to physical backup chains (.tar files) only.");
  const checksum = await expectedChecksum(options.file, options.checksum);
  await verifyChecksum(options.file, checksum);
  if (scheme === "postgres" || scheme === "postgresql") {
    if (dumpExtension !== "dump" && dumpExtension !== "sql") throw new Error(`A .${dumpExtension} backup cannot be restored into PostgreSQL.`);
    const { login, database } = loginFromUrl(new URL(options.to));
    await decodeInto(options, (input) => restorePostgres(login, database, dumpExtension, input));
  } else if (scheme === "mysql" || scheme === "mariadb") {
    if (dumpExtension !== "sql") throw new Error(`A .${dumpExtension} backup cannot be restored into MySQL/MariaDB.`);
    const { login, database } = loginFromUrl(new URL(options.to));
    await decodeInto(options, (input) => restoreMysql(login, database, input));
  } else if (scheme) {
    throw new Error(`--to ${scheme}://… is not supported: use postgres://, mysql://, mariadb:// or a file path.`);
  } else {
    await writeFileTarget(options, dumpExtension);
  }
  return { checksum, target: options.to.replace(/\/\/[^@/]*@/, "//***@") };
}
