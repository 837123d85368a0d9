import { copyFile, mkdir, rename, rm, access } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { ServerLogin } from "./engine.ts";

/** Tables and rows of a database, counted exactly (`count(*)` per table), as restores and drills report them. */
export interface DatabaseCounts {
  tables: number;
  rows: number;
}

/**
 * What an engine offers a restore from the platform: every step names the database, so a restore never
 * touches another one. `load` restores a decoded dump into a database that does not exist yet.
 */
export interface RestoreTarget {
  exists(database: string): Promise<boolean>;
  drop(database: string): Promise<void>;
  load(database: string, dumpPath: string, dumpExtension: string): Promise<void>;
  count(database: string): Promise<DatabaseCounts>;
  /** For physical chains (restore-chain.ts): the server and how to reach it. */
  chain?: { scheme: "postgres" | "mariadb"; login: ServerLogin };
}

export const sqlText = (value: string) => `'${value.replaceAll("'", "''")}'`;

/** A `SELECT` summing exact row counts of `tables`, in one round trip (0 without tables). */
export function sumOfCounts(tables: string[], qualify: (table: string) => string): string {
  return tables.length === 0 ? "SELECT 0" : `SELECT ${tables.map((t) => `(SELECT count(*) FROM ${qualify(t)})`).join(" + ")}`;
}

/** SQLite restores are files: `<directory>/<database>.sqlite`, written beside and renamed in when checked. */
export function sqliteRestoreTarget(directory: string): RestoreTarget {
  const pathOf = (database: string) => join(directory, `${database}.sqlite`);
  return {
    exists: (database) => access(pathOf(database)).then(() => true, () => false),
    async drop(database) {
      for (const suffix of ["", "-wal", "-shm", "-journal"]) await rm(`${pathOf(database)}${suffix}`, { force: true });
    },
    async load(database, dumpPath) {
      await mkdir(directory, { recursive: true });
      const partial = `${pathOf(database)}.partial`;
      try {
        await copyFile(dumpPath, partial);
        assertSqliteIntegrity(partial);
        await rename(partial, pathOf(database));
      } finally {
        await rm(partial, { force: true });
      }
    },
    count: async (database) => countSqliteFile(pathOf(database)),
  };
}

/** Throws unless a restored SQLite file passes `PRAGMA integrity_check`. */
export function assertSqliteIntegrity(path: string): void {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const result = db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
    if (result.integrity_check !== "ok") throw new Error(`The restored SQLite database fails its integrity check: ${result.integrity_check}`);
  } finally {
    db.close();
  }
}

export function countSqliteFile(path: string): DatabaseCounts {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((t) => t.name);
    const { n } = db.prepare(`${sumOfCounts(tables, (t) => `"${t.replaceAll('"', '""')}"`)} AS n`).get() as { n: number };
    return { tables: tables.length, rows: Number(n) };
  } finally {
    db.close();
  }
}

/** The folder SQLite restores go to: the engine's first configured path's folder (before any glob). */
export function sqliteRestoreDirectory(paths: string[]): string {
  const first = paths[0]!;
  const globAt = first.search(/[*?[\]{}]/);
  return globAt < 0 ? dirname(first) : dirname(first.slice(0, globAt) + "x");
}

export const readDump = (path: string) => createReadStream(path);
