import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { chmod, glob, lstat, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, extname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { backup, DatabaseSync } from "node:sqlite";
import type { SqliteEngineConfig } from "../config.ts";
import { fullOnlyCapabilities, type Engine } from "./engine.ts";
import { countSqliteFile, sqliteRestoreDirectory, sqliteRestoreTarget, type DatabaseCounts, type RestoreTarget } from "./restore-target.ts";

const GLOB_CHARACTERS = /[*?[\]{}]/;

/**
 * The agent's private staging directory under `base` (the OS temp dir by default, maybe shared with other
 * users): created 0700, refused if someone else owns it or it is a link, and emptied, since any file left
 * in it is a whole-database copy from a run that crashed.
 */
export async function preparePrivateStaging(base = tmpdir()): Promise<string> {
  const uid = process.getuid?.();
  const directory = join(base, `datasync-agent-staging-${uid ?? "user"}`);
  await mkdir(base, { recursive: true });
  await mkdir(directory, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST") throw error;
  });
  const info = await lstat(directory);
  if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) {
    throw new Error(`Staging directory ${directory} is not a directory of this user; remove it or set tempDirectory.`);
  }
  await chmod(directory, 0o700);
  for (const entry of await readdir(directory)) await rm(join(directory, entry), { recursive: true, force: true });
  return directory;
}

export class SqliteEngine implements Engine {
  readonly dbmsType = "Sqlite" as const;
  readonly dumpExtension = "sqlite";
  readonly engineKey: string;
  private readonly config: SqliteEngineConfig;
  private readonly stagingBase: string | undefined;
  private staging: Promise<string> | undefined;

  /** `stagingBase`: the folder under which the private staging directory is made (the config's tempDirectory). */
  constructor(config: SqliteEngineConfig, stagingBase?: string) {
    this.config = config;
    this.engineKey = config.engineKey;
    this.stagingBase = stagingBase;
  }

  /** The private staging directory, prepared (and emptied) once per process: call it when the agent starts. */
  stagingDirectory(): Promise<string> {
    this.staging ??= preparePrivateStaging(this.stagingBase);
    return this.staging;
  }

  async version(): Promise<string> {
    const db = new DatabaseSync(":memory:");
    try {
      return String((db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v);
    } finally {
      db.close();
    }
  }

  /** Every file the configured paths and globs match, by database name (the file name without extension). */
  async files(): Promise<Map<string, string>> {
    const paths: string[] = [];
    for (const pattern of this.config.paths) {
      if (GLOB_CHARACTERS.test(pattern)) {
        for await (const match of glob(pattern)) paths.push(resolve(match));
      } else {
        const exists = await stat(pattern).then((info) => info.isFile(), () => false);
        if (exists) paths.push(resolve(pattern));
      }
    }
    const byName = new Map<string, string>();
    for (const path of [...new Set(paths)].sort()) {
      const name = basename(path, extname(path));
      // Two files with the same name in different folders: the later one is named by its whole path.
      byName.set(byName.has(name) ? path : name, path);
    }
    return byName;
  }

  async listDatabases(): Promise<string[]> {
    return [...(await this.files()).keys()];
  }

  readonly capabilities = fullOnlyCapabilities;

  async countDatabase(database: string): Promise<DatabaseCounts> {
    const path = (await this.files()).get(database);
    if (!path) throw new Error(`SQLite database "${database}" is not among the files this engine's paths match.`);
    return countSqliteFile(path);
  }

  /** Restores become `<name>.sqlite` files in the folder of the first configured path. */
  restoreTarget(): RestoreTarget {
    return sqliteRestoreTarget(sqliteRestoreDirectory(this.config.paths));
  }

  /** Online backup through node:sqlite into a staging file (consistent even while the app writes), then streamed. */
  async dump(database: string): Promise<{ stream: Readable; release(): Promise<void> }> {
    const path = (await this.files()).get(database);
    if (!path) throw new Error(`SQLite database "${database}" is not among the files this engine's paths match.`);
    const staged = join(await this.stagingDirectory(), `datasync-${randomUUID()}.sqlite`);
    const source = new DatabaseSync(path, { readOnly: true });
    try {
      // Created 0600 before SQLite writes into it: the copy is never readable by others, even for a moment.
      await writeFile(staged, "", { mode: 0o600, flag: "wx" });
      await backup(source, staged);
      await chmod(staged, 0o600);
    } catch (error) {
      await rm(staged, { force: true });
      throw new Error(`SQLite online backup of ${path} failed: ${(error as Error).message}`);
    } finally {
      source.close();
    }
    return { stream: createReadStream(staged), release: () => rm(staged, { force: true }) };
  }
}
