import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { glob, mkdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, extname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { backup, DatabaseSync } from "node:sqlite";
import type { SqliteEngineConfig } from "../config.ts";
import { fullOnlyCapabilities, type Engine } from "./engine.ts";

const GLOB_CHARACTERS = /[*?[\]{}]/;

export class SqliteEngine implements Engine {
  readonly dbmsType = "Sqlite" as const;
  readonly dumpExtension = "sqlite";
  readonly engineKey: string;
  private readonly config: SqliteEngineConfig;
  private readonly stagingDirectory: string;

  constructor(config: SqliteEngineConfig, stagingDirectory = tmpdir()) {
    this.config = config;
    this.engineKey = config.engineKey;
    this.stagingDirectory = stagingDirectory;
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

  /** Online backup through node:sqlite into a staging file (consistent even while the app writes), then streamed. */
  async dump(database: string): Promise<{ stream: Readable; release(): Promise<void> }> {
    const path = (await this.files()).get(database);
    if (!path) throw new Error(`SQLite database "${database}" is not among the files this engine's paths match.`);
    await mkdir(this.stagingDirectory, { recursive: true, mode: 0o700 });
    const staged = join(this.stagingDirectory, `datasync-${randomUUID()}.sqlite`);
    const source = new DatabaseSync(path, { readOnly: true });
    try {
      await backup(source, staged);
    } catch (error) {
      await rm(staged, { force: true });
      throw new Error(`SQLite online backup of ${path} failed: ${(error as Error).message}`);
    } finally {
      source.close();
    }
    return { stream: createReadStream(staged), release: () => rm(staged, { force: true }) };
  }
}
