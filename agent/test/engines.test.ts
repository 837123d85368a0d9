import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupDatabase } from "../src/backup.ts";
import { LocalDestination } from "../src/destinations/local.ts";
import { UnsupportedModeError } from "../src/engines/engine.ts";
import { MysqlEngine } from "../src/engines/mysql.ts";
import { PostgresEngine } from "../src/engines/postgres.ts";
import { SqliteEngine } from "../src/engines/sqlite.ts";
import { prepareEngines } from "../src/engines/index.ts";
import { restoreBackup } from "../src/restore.ts";
import type { Credential } from "../src/types.ts";
import {
  dropPostgresDatabase,
  MARIADB,
  MARIADB_FINGERPRINT,
  MARIADB_SEED,
  mariadb,
  PG,
  POSTGRES_FINGERPRINT,
  POSTGRES_SEED,
  psql,
  SAMPLE_ROWS,
  scratchName,
} from "./support/databases.ts";

const PASSPHRASE = "engine test passphrase";
const FAST = { scrypt: { log2N: 10, r: 8, p: 1 } };
const noCredentials = { get: (): Credential | undefined => undefined };

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "ds-engines-"));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function localDestination(folder: string) {
  return new LocalDestination({ destinationId: "00000000-0000-4000-8000-000000000001", name: "local", type: "LocalStorage", settings: { path: join(workDir, folder) } });
}

describe("PostgreSQL", () => {
  const source = scratchName("ds_agent_src");
  const restored: string[] = [];
  beforeAll(() => {
    psql("postgres", `CREATE DATABASE "${source}"`);
    psql(source, POSTGRES_SEED);
  });
  afterAll(() => {
    for (const name of [source, ...restored]) dropPostgresDatabase(name);
  });

  it("lists databases from pg_database and reports the server version", async () => {
    const engine = new PostgresEngine({ type: "PostgreSql", engineKey: "pg", ...PG, format: "custom" }, noCredentials);
    expect(await engine.listDatabases()).toContain(source);
    expect(await engine.listDatabases()).not.toContain("template0");
    expect(await engine.version()).toMatch(/^\d+/);
  });

  it.each([
    ["custom", PASSPHRASE],
    ["plain", undefined],
  ] as const)("backs up (%s format) and restores into a fresh database with the same rows", async (format, passphrase) => {
    const engine = new PostgresEngine({ type: "PostgreSql", engineKey: "pg", ...PG, format }, noCredentials);
    const destination = localDestination(`pg-${format}`);
    const startedAt = new Date("2026-03-26T02:00:00Z");
    const result = await backupDatabase({ engine, database: source, mode: "Full", startedAt, destinations: [destination], compression: "gzip", passphrase, encryptOptions: FAST });
    const ext = format === "custom" ? "dump" : "sql";
    expect(result.fileName).toBe(`${source}_Full_20260326_020000.${ext}.gz${passphrase ? ".enc" : ""}`);
    const file = join(workDir, `pg-${format}`, result.fileName);
    expect((await stat(file)).size).toBe(result.fileSize);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(`${file}.sha256`, "utf8")).toBe(`${result.checksum.slice(7)}  ${result.fileName}\n`);

    const target = scratchName("ds_agent_restored");
    restored.push(target);
    await restoreBackup({ file, passphrase, to: `postgres://postgres@127.0.0.1:5432/${target}` });
    expect(psql(target, POSTGRES_FINGERPRINT)).toBe(psql(source, POSTGRES_FINGERPRINT));
    expect(psql(target, "SELECT n FROM customer_count")).toBe(String(SAMPLE_ROWS));
  });

  it("dumps a database whose name looks like a connection string as that name, not as a connection string", async () => {
    const lookalike = `dbname=${source}`;
    restored.push(lookalike);
    psql("postgres", `CREATE DATABASE "${lookalike}"`);
    // The helper's own `-d` would read the name as a connection string too: give it as a quoted conninfo.
    psql(`dbname='${lookalike}'`, "CREATE TABLE only_in_the_lookalike (x int)");
    const engine = new PostgresEngine({ type: "PostgreSql", engineKey: "pg", ...PG, format: "plain" }, noCredentials);
    const { stream, release } = await engine.dump(lookalike);
    let text = "";
    for await (const chunk of stream) text += chunk;
    await release();
    expect(text).toContain("only_in_the_lookalike");
    expect(text).not.toContain("customer");
  });

  it("refuses Differential on PostgreSQL 15 with a clear error and writes nothing", async () => {
    const engine = new PostgresEngine({ type: "PostgreSql", engineKey: "pg", ...PG, format: "custom" }, noCredentials);
    expect((await engine.capabilities()).backupModes).not.toContain("Differential");
    const attempt = backupDatabase({ engine, database: source, mode: "Differential", startedAt: new Date(), destinations: [localDestination("pg-diff")], compression: "gzip" });
    await expect(attempt).rejects.toBeInstanceOf(UnsupportedModeError);
    await expect(attempt).rejects.toThrow('PostgreSQL engine "pg" cannot make Differential backups here (it can: Full');
    expect(existsSync(join(workDir, "pg-diff"))).toBe(false);
  });

  it("fails the backup with pg_dump's own error and leaves no partial file", async () => {
    const engine = new PostgresEngine({ type: "PostgreSql", engineKey: "pg", ...PG, format: "custom" }, noCredentials);
    const attempt = backupDatabase({ engine, database: "ds_no_such_database", mode: "Full", startedAt: new Date(), destinations: [localDestination("pg-missing")], compression: "gzip" });
    await expect(attempt).rejects.toThrow(/pg_dump failed: .*ds_no_such_database/);
    expect(await readdir(join(workDir, "pg-missing"))).toEqual([]);
  });

  it("logs in with a credential received from the platform", async () => {
    const credentials = { get: (id: string): Credential | undefined => (id === "cred-1" ? { $type: "ConnectionStringCredential", connectionString: "postgres://postgres@127.0.0.1:5432/postgres" } : undefined) };
    const engine = new PostgresEngine({ type: "PostgreSql", engineKey: "pg", host: "192.0.2.1", username: "nobody", credentialReferenceId: "cred-1", format: "custom" }, credentials);
    expect(await engine.listDatabases()).toContain(source);
    const missing = new PostgresEngine({ type: "PostgreSql", engineKey: "pg", host: "127.0.0.1", credentialReferenceId: "cred-2", format: "custom" }, credentials);
    await expect(missing.listDatabases()).rejects.toThrow("Credential cred-2 has not been received from the platform yet.");
  });
});

describe("MariaDB", () => {
  const source = scratchName("ds_agent_src");
  const restored: string[] = [];
  beforeAll(() => {
    mariadb(`CREATE DATABASE ${source}`);
    mariadb(MARIADB_SEED, source);
  });
  afterAll(() => {
    for (const name of [source, ...restored]) mariadb(`DROP DATABASE IF EXISTS ${name}`);
  });

  it("backs up with mariadb-dump and restores into a fresh database with the same rows", async () => {
    const engine = new MysqlEngine({ type: "MariaDb", engineKey: "maria", ...MARIADB }, noCredentials);
    const names = await engine.listDatabases();
    expect(names).toContain(source);
    expect(names).not.toContain("mysql");
    const result = await backupDatabase({ engine, database: source, mode: "Full", startedAt: new Date("2026-03-26T02:00:00Z"), destinations: [localDestination("maria")], compression: "gzip", passphrase: PASSPHRASE, encryptOptions: FAST });
    expect(result.fileName).toBe(`${source}_Full_20260326_020000.sql.gz.enc`);
    const target = scratchName("ds_agent_restored");
    restored.push(target);
    await restoreBackup({ file: join(workDir, "maria", result.fileName), passphrase: PASSPHRASE, to: `mariadb://root@127.0.0.1:3306/${target}` });
    expect(mariadb(MARIADB_FINGERPRINT, target)).toBe(mariadb(MARIADB_FINGERPRINT, source));
  });

  it("refuses TransactionLog on a server without binary logs, and MySQL physical modes", async () => {
    const engine = new MysqlEngine({ type: "MariaDb", engineKey: "maria", ...MARIADB }, noCredentials);
    // The machine's MariaDB runs with log_bin off (chain.test.ts starts one with it on).
    expect(await engine.capabilities()).toEqual({ backupModes: ["Full", "Differential"], restore: true });
    await expect(
      backupDatabase({ engine, database: source, mode: "TransactionLog", startedAt: new Date(), destinations: [localDestination("maria-diff")], compression: "gzip" }),
    ).rejects.toThrow('MariaDB engine "maria" cannot make TransactionLog backups here (it can: Full, Differential).');
    const mysql = new MysqlEngine({ type: "MySql", engineKey: "my", ...MARIADB }, noCredentials);
    expect(await mysql.capabilities()).toEqual({ backupModes: ["Full"], restore: true });
    const remote = new MysqlEngine({ type: "MariaDb", engineKey: "remote", ...MARIADB, host: "192.0.2.1" }, noCredentials);
    expect((await remote.capabilities()).backupModes).toEqual(["Full"]); // mariadb-backup reads the data folder: local servers only
    expect(existsSync(join(workDir, "maria-diff"))).toBe(false);
  });
});

describe("SQLite", () => {
  it("finds files by glob, backs up online while the app holds a connection, restores to a file", async () => {
    const folder = join(workDir, "sqlite-src");
    await import("node:fs/promises").then((fs) => fs.mkdir(folder));
    const app = new DatabaseSync(join(folder, "shop.db"));
    app.exec("PRAGMA journal_mode=WAL; CREATE TABLE item (id INTEGER PRIMARY KEY, label TEXT, blob BLOB)");
    const insert = app.prepare("INSERT INTO item (label, blob) VALUES (?, randomblob(64))");
    for (let i = 0; i < 1000; i++) insert.run(`item ${i} 'quoted' ü`);
    new DatabaseSync(join(folder, "other.sqlite")).close();

    const engine = new SqliteEngine({ type: "Sqlite", engineKey: "files", paths: [join(folder, "*.db"), join(folder, "other.sqlite"), join(folder, "absent.db")] }, join(workDir, "staging"));
    expect(await engine.listDatabases()).toEqual(["other", "shop"]);
    const result = await backupDatabase({ engine, database: "shop", mode: "Full", startedAt: new Date("2026-03-26T02:00:00Z"), destinations: [localDestination("sqlite")], compression: "gzip", passphrase: PASSPHRASE, encryptOptions: FAST });
    expect(result.fileName).toBe("shop_Full_20260326_020000.sqlite.gz.enc");
    expect(await readdir(await engine.stagingDirectory())).toEqual([]); // staging copy released

    const target = join(workDir, "restored-shop.db");
    await restoreBackup({ file: join(workDir, "sqlite", result.fileName), passphrase: PASSPHRASE, to: target });
    const copy = new DatabaseSync(target, { readOnly: true });
    const fingerprint = "SELECT count(*) AS n, group_concat(id || label || hex(blob)) AS all_rows FROM item";
    expect(copy.prepare(fingerprint).get()).toEqual(app.prepare(fingerprint).get());
    copy.close();
    app.close();
    await expect(restoreBackup({ file: join(workDir, "sqlite", result.fileName), passphrase: PASSPHRASE, to: target })).rejects.toThrow("already exists");
  });

  it("refuses a wrong passphrase and a tampered file without creating the target", async () => {
    const folder = join(workDir, "sqlite-src2");
    await import("node:fs/promises").then((fs) => fs.mkdir(folder));
    const app = new DatabaseSync(join(folder, "tiny.db"));
    app.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)");
    app.close();
    const engine = new SqliteEngine({ type: "Sqlite", engineKey: "files", paths: [join(folder, "tiny.db")] });
    const result = await backupDatabase({ engine, database: "tiny", mode: "Full", startedAt: new Date(), destinations: [localDestination("sqlite2")], compression: "gzip", passphrase: PASSPHRASE, encryptOptions: FAST });
    const file = join(workDir, "sqlite2", result.fileName);
    const target = join(workDir, "never.db");
    await expect(restoreBackup({ file, passphrase: "wrong passphrase!!", to: target })).rejects.toThrow("Wrong passphrase for this backup file.");
    await expect(restoreBackup({ file, passphrase: PASSPHRASE, to: target, checksum: `sha256:${"0".repeat(64)}` })).rejects.toThrow("Checksum mismatch");
    expect(existsSync(target)).toBe(false);
    expect((await readdir(workDir)).filter((name) => name.includes("never"))).toEqual([]);
  });
});

describe("SQLite staging", () => {
  it("stages copies 0600 in a private 0700 directory, emptied when the agent starts", async () => {
    const folder = join(workDir, "sqlite-src3");
    await mkdir(folder);
    const app = new DatabaseSync(join(folder, "secret.db"));
    app.exec("CREATE TABLE t (x); INSERT INTO t VALUES ('card numbers')");
    app.close();
    const base = join(workDir, "shared-tmp");
    const engine = new SqliteEngine({ type: "Sqlite", engineKey: "files", paths: [join(folder, "secret.db")] }, base);

    const { stream, release } = await engine.dump("secret");
    const [staged] = await readdir(await engine.stagingDirectory());
    const directory = await engine.stagingDirectory();
    expect(directory.startsWith(`${base}/`)).toBe(true);
    expect((await stat(directory)).mode & 0o777).toBe(0o700);
    expect((await stat(join(directory, staged))).mode & 0o777).toBe(0o600);
    stream.destroy();
    await release();

    // A crashed run left a copy behind (and the directory lost its mode): the next start removes it.
    await writeFile(join(directory, "datasync-left-behind.sqlite"), "old copy");
    await chmod(directory, 0o755);
    const restarted = new SqliteEngine({ type: "Sqlite", engineKey: "files", paths: [join(folder, "secret.db")] }, base);
    await prepareEngines([restarted]);
    expect(await readdir(directory)).toEqual([]);
    expect((await stat(directory)).mode & 0o777).toBe(0o700);
  });
});
