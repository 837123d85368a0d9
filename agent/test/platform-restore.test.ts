import { BlobServiceClient } from "@azure/storage-blob";
import { randomUUID } from "node:crypto";
import { appendFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
// @ts-expect-error s3rver ships no types
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyDatabaseName } from "../../src/domain/restore.ts";
import type { RestoreRunCommand, VerifyRunCommand } from "../../src/protocol/agent-protocol.ts";
import { backupDatabase } from "../src/backup.ts";
import { createDestination } from "../src/destinations/index.ts";
import type { DestinationSpec } from "../src/destinations/destination.ts";
import type { Engine } from "../src/engines/engine.ts";
import { MysqlEngine } from "../src/engines/mysql.ts";
import { PostgresEngine } from "../src/engines/postgres.ts";
import { SqliteEngine } from "../src/engines/sqlite.ts";
import { runRestore, runVerification, type RestoreContext } from "../src/platform-restore.ts";
import type { Credential } from "../src/types.ts";
import { startAzurite } from "./support/azurite.ts";
import { MARIADB, MARIADB_SEED, PG, POSTGRES_FINGERPRINT, POSTGRES_SEED, SAMPLE_ROWS, dropPostgresDatabase, mariadb, psql, scratchName } from "./support/databases.ts";
import { sshdUnavailableReason, startSshd } from "./support/sshd.ts";

/**
 * `restore.run` and `verify.run` as the platform sends them, against the real local PostgreSQL, MariaDB
 * and SQLite, with files fetched from each destination type: what the agent reports and what the
 * target databases hold afterwards.
 */

const PASSPHRASE = "correct horse battery staple";
const noCredentials = { get: () => undefined };
let dir: string;
let s3: { close(): Promise<void> };
let s3Endpoint: string;
const credentials = new Map<string, Credential>();
const knownHosts = new Map<string, string>();
const lookup = {
  get: (id: string) => credentials.get(id),
  hostKey: (host: string) => knownHosts.get(host),
  rememberHostKey: (host: string, fingerprint: string) => void knownHosts.set(host, fingerprint),
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ds-platform-restore-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: join(dir, "s3"), configureBuckets: [{ name: "backups" }] });
  s3Endpoint = `http://127.0.0.1:${(await server.run()).port}`;
  s3 = server;
  credentials.set("s3", { $type: "S3Credential", accessKeyId: "S3RVER", secretAccessKey: "S3RVER", region: "us-east-1" } as Credential);
});

afterAll(async () => {
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

const localSpec = (): DestinationSpec => ({ destinationId: randomUUID(), name: "Disk", type: "LocalStorage", settings: { path: join(dir, "local") }, credentialReferenceId: null });
const s3Spec = (): DestinationSpec => ({
  destinationId: randomUUID(),
  name: "S3",
  type: "S3Storage",
  settings: { bucket: "backups", region: "us-east-1", prefix: "restore", endpoint: s3Endpoint },
  credentialReferenceId: "s3",
});

/** Backs `database` up with the real engine into `spec`; the file as `restore.run` names it. */
async function backUp(engine: Engine, database: string, spec: DestinationSpec, passphrase: string | null = PASSPHRASE) {
  const destination = createDestination(spec, lookup);
  try {
    const result = await backupDatabase({ engine, database, mode: "Full", startedAt: new Date(), destinations: [destination], compression: "gzip", passphrase: passphrase ?? undefined });
    return { destination: spec as RestoreRunCommand["files"][number]["destination"], fileName: result.fileName, checksum: result.checksum };
  } finally {
    await destination.close();
  }
}

function context(engines: Engine[]) {
  const sent: ({ type: string } & Record<string, unknown>)[] = [];
  const ctx: RestoreContext = { engines, credentials: lookup, send: (frame) => void sent.push(frame), now: () => new Date(), stagingDirectory: join(dir, "staging") };
  return { ctx, sent, outcome: () => sent.at(-1)! };
}

function restoreCommand(engineKey: string, file: RestoreRunCommand["files"][number], databaseName: string, overwrite = false, passphrase: string | null = PASSPHRASE): RestoreRunCommand {
  return { type: "restore.run", restoreId: randomUUID(), files: [file], engineKey, encryption: { passphrase }, target: { databaseName, overwrite } };
}

describe("restore.run into PostgreSQL from a local destination", () => {
  const pg = new PostgresEngine({ type: "PostgreSql", engineKey: "pg", ...PG, format: "custom" }, noCredentials);
  const source = scratchName("ds_rsrc");
  const target = scratchName("ds_rtgt");
  let file: RestoreRunCommand["files"][number];

  beforeAll(async () => {
    psql("postgres", `CREATE DATABASE ${source}`);
    psql(source, POSTGRES_SEED);
    psql(source, "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1), (2), (3);");
    file = await backUp(pg, source, localSpec());
  });
  afterAll(() => {
    for (const name of [source, target]) dropPostgresDatabase(name);
  });

  it("restores into a new database and reports started, completed with the tables and rows counted", async () => {
    const { ctx, sent } = context([pg]);
    const command = restoreCommand("pg", file, target);
    await runRestore(ctx, command);
    expect(sent.map((f) => f.type)).toEqual(["restore.started", "restore.completed"]);
    expect(sent[1]).toMatchObject({ restoreId: command.restoreId, tables: 2, rows: SAMPLE_ROWS + 3 });
    expect(psql(target, POSTGRES_FINGERPRINT)).toBe(psql(source, POSTGRES_FINGERPRINT));
  });

  it("refuses an existing database without overwrite and leaves it untouched; overwrite replaces it", async () => {
    psql(target, "CREATE TABLE marker (x int); INSERT INTO marker VALUES (42);");
    const { ctx, outcome } = context([pg]);
    await runRestore(ctx, restoreCommand("pg", file, target));
    expect(outcome()).toMatchObject({ type: "restore.failed", error: `Database "${target}" already exists; restore with overwrite: true to replace it.` });
    expect(psql(target, "SELECT x FROM marker")).toBe("42");

    await runRestore(ctx, restoreCommand("pg", file, target, true));
    expect(outcome()).toMatchObject({ type: "restore.completed", tables: 2, rows: SAMPLE_ROWS + 3 });
    expect(psql(target, "SELECT count(*) FROM pg_tables WHERE tablename = 'marker'")).toBe("0");
  });

  it("fails a wrong passphrase clearly, before touching the target", async () => {
    psql(target, "CREATE TABLE IF NOT EXISTS marker (x int); INSERT INTO marker VALUES (7);");
    const { ctx, outcome } = context([pg]);
    await runRestore(ctx, restoreCommand("pg", file, target, true, "not the passphrase at all"));
    expect(outcome()).toMatchObject({ type: "restore.failed", error: "Wrong passphrase for this backup file." });
    expect(psql(target, "SELECT x FROM marker")).toBe("7");
  });

  it("fails a tampered file on its checksum without touching the target", async () => {
    const other = scratchName("ds_rtamp");
    const tampered = await backUp(pg, source, localSpec());
    await appendFile(join(dir, "local", tampered.fileName), "x");
    const { ctx, outcome } = context([pg]);
    await runRestore(ctx, restoreCommand("pg", tampered, other));
    expect(outcome()).toMatchObject({ type: "restore.failed" });
    expect(String(outcome().error)).toMatch(/^Checksum mismatch/);
    expect(psql("postgres", `SELECT count(*) FROM pg_database WHERE datname = '${other}'`)).toBe("0");
  });

  it("a drill restores into a scratch database, compares the counts, and drops it after success and after failure", async () => {
    const { ctx, outcome } = context([pg]);
    const drill = (expected: VerifyRunCommand["expected"]): VerifyRunCommand => ({ type: "verify.run", verificationId: randomUUID(), files: [file], engineKey: "pg", encryption: { passphrase: PASSPHRASE }, expected });
    const scratchCount = () => psql("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'ds_verify_%'");
    const before = scratchCount();
    const ok = drill({ tables: 2, rows: SAMPLE_ROWS + 3 });
    await runVerification(ctx, ok);
    expect(outcome()).toMatchObject({ type: "verify.completed", verificationId: ok.verificationId, tables: 2, rows: SAMPLE_ROWS + 3 });
    const bad = drill({ tables: 2, rows: 1 });
    await runVerification(ctx, bad);
    expect(outcome()).toMatchObject({ type: "verify.failed", error: `Counts differ from the backup: 2 table(s) and ${SAMPLE_ROWS + 3} row(s) restored, 2 and 1 at backup time.` });
    expect(scratchCount()).toBe(before);
    expect(verifyDatabaseName(bad.verificationId)).toMatch(/^ds_verify_[0-9a-f]{12}$/);
  });
});

describe("restore.run into MariaDB from S3", () => {
  const maria = new MysqlEngine({ type: "MariaDb", engineKey: "maria", ...MARIADB }, noCredentials);
  const source = scratchName("ds_rsrc");
  const target = scratchName("ds_rtgt");
  afterAll(() => void mariadb(`DROP DATABASE IF EXISTS ${source}; DROP DATABASE IF EXISTS ${target};`));

  it("restores, counts, and a drill's scratch database is gone afterwards", async () => {
    mariadb(`CREATE DATABASE ${source}`);
    mariadb(MARIADB_SEED, source);
    const file = await backUp(maria, source, s3Spec());
    const { ctx, outcome } = context([maria]);
    await runRestore(ctx, restoreCommand("maria", file, target));
    expect(outcome()).toMatchObject({ type: "restore.completed", tables: 1, rows: SAMPLE_ROWS });
    expect(mariadb("SELECT COUNT(*) FROM customer", target)).toBe(String(SAMPLE_ROWS));
    const drill: VerifyRunCommand = { type: "verify.run", verificationId: randomUUID(), files: [file], engineKey: "maria", encryption: { passphrase: PASSPHRASE }, expected: { tables: 1, rows: SAMPLE_ROWS } };
    await runVerification(ctx, drill);
    expect(outcome()).toMatchObject({ type: "verify.completed", tables: 1, rows: SAMPLE_ROWS });
    expect(mariadb(`SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '${verifyDatabaseName(drill.verificationId)}'`)).toBe("0");
  });

  it("a restore that fails while loading leaves no half-restored new database behind", async () => {
    const pg = new PostgresEngine({ type: "PostgreSql", engineKey: "pg", ...PG, format: "custom" }, noCredentials);
    const file = await backUp(maria, source, s3Spec());
    const other = scratchName("ds_rhalf");
    const { ctx, outcome } = context([pg]);
    // A MariaDB dump fed to PostgreSQL: psql stops at its first statement, after the database was created.
    await runRestore(ctx, restoreCommand("pg", file, other));
    expect(outcome()).toMatchObject({ type: "restore.failed" });
    expect(psql("postgres", `SELECT count(*) FROM pg_database WHERE datname = '${other}'`)).toBe("0");
  });
});

describe("restore.run into SQLite from SFTP and Azure Blob", () => {
  const unavailable = sshdUnavailableReason();

  async function sqliteSetup(name: string) {
    const work = await mkdtemp(join(dir, "sqlite-"));
    const db = new DatabaseSync(join(work, `${name}.db`));
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (id INTEGER);");
    for (let i = 0; i < 50; i++) db.exec(`INSERT INTO t (v) VALUES ('row ${i}')`);
    db.close();
    return { work, engine: new SqliteEngine({ type: "Sqlite", engineKey: "files", paths: [join(work, "*.db")] }, join(work, "staging")) };
  }

  it.skipIf(unavailable)("from SFTP: restores a new <name>.sqlite beside the source and counts it", async () => {
    const sshd = await startSshd(join(dir, "sshd"));
    try {
      credentials.set("sftp", { $type: "SftpCredential", username: sshd.username, privateKey: sshd.privateKey } as Credential);
      const { work, engine } = await sqliteSetup("shop");
      const spec: DestinationSpec = { destinationId: randomUUID(), name: "SFTP", type: "SftpStorage", settings: { host: "127.0.0.1", port: sshd.port, path: join(dir, "remote") }, credentialReferenceId: "sftp" };
      const file = await backUp(engine, "shop", spec);
      const { ctx, outcome } = context([engine]);
      await runRestore(ctx, restoreCommand("files", file, "shop_restored"));
      expect(outcome()).toMatchObject({ type: "restore.completed", tables: 2, rows: 50 });
      expect((await readdir(work)).sort()).toContain("shop_restored.sqlite");
    } finally {
      await sshd.stop();
    }
  });

  it("from Azure Blob (azurite): restores unencrypted files too, and a drill leaves no scratch file", async () => {
    const azurite = await startAzurite(dir);
    try {
      credentials.set("azure", { $type: "ConnectionStringCredential", connectionString: azurite.connectionString } as Credential);
      await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("backups").create();
      const { work, engine } = await sqliteSetup("crm");
      const spec: DestinationSpec = { destinationId: randomUUID(), name: "Blob", type: "AzureBlobStorage", settings: { container: "backups", prefix: "r" }, credentialReferenceId: "azure" };
      const file = await backUp(engine, "crm", spec, null);
      const { ctx, outcome } = context([engine]);
      await runRestore(ctx, restoreCommand("files", file, "crm_restored", false, null));
      expect(outcome(), String(outcome().error)).toMatchObject({ type: "restore.completed", tables: 2, rows: 50 });
      await runVerification(ctx, { type: "verify.run", verificationId: randomUUID(), files: [file], engineKey: "files", encryption: { passphrase: null }, expected: { tables: 3, rows: 50 } });
      expect(outcome()).toMatchObject({ type: "verify.failed" });
      expect((await readdir(work)).filter((name) => name.startsWith("ds_verify_"))).toEqual([]);
    } finally {
      await azurite.stop();
    }
  });
});
