import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { access, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { DatabaseSync } from "node:sqlite";
import { restoreMysql } from "./engines/mysql.ts";
import { restorePostgres } from "./engines/postgres.ts";
import type { ServerLogin } from "./engines/engine.ts";
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
}

export interface RestoreResult {
  checksum: string;
  target: string;
}

async function expectedChecksum(options: RestoreOptions): Promise<string> {
  if (options.checksum) {
    if (!/^sha256:[0-9a-f]{64}$/i.test(options.checksum)) throw new Error("--checksum must look like sha256:<64 hex digits>.");
    return options.checksum.toLowerCase();
  }
  try {
    return parseChecksumFile(await readFile(`${options.file}.sha256`, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`No checksum to verify against: keep ${basename(options.file)}.sha256 beside the file or pass --checksum sha256:… (listed by GET /api/backupfile).`);
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
    if (dumpExtension === "sqlite") {
      const db = new DatabaseSync(partial, { readOnly: true });
      try {
        const result = db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
        if (result.integrity_check !== "ok") throw new Error(`The restored SQLite database fails its integrity check: ${result.integrity_check}`);
      } finally {
        db.close();
      }
    }
    await rename(partial, options.to);
  } finally {
    await rm(partial, { force: true });
  }
}

/** Verifies the checksum, then decrypts, decompresses and restores (into a database or a file). */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const checksum = await expectedChecksum(options);
  await verifyChecksum(options.file, checksum);
  const dumpExtension = dumpExtensionOf(options.file);
  const scheme = /^([a-z]+):\/\//i.exec(options.to)?.[1]?.toLowerCase();
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
