import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentJob, RestoreRunCommand } from "../../src/protocol/agent-protocol.ts";
import { main } from "../src/cli.ts";
import type { Engine } from "../src/engines/engine.ts";
import { collectInventory } from "../src/engines/index.ts";
import { MysqlEngine } from "../src/engines/mysql.ts";
import { PostgresEngine } from "../src/engines/postgres.ts";
import { runRestore } from "../src/platform-restore.ts";
import { JobRunner } from "../src/runner.ts";
import { AgentStore } from "../src/state.ts";
import type { BackupMode, Credential } from "../src/types.ts";
import { startPrivateMariadb, startPrivatePostgres, type PrivateServer } from "./support/private-servers.ts";

const PASSPHRASE = "chain test passphrase";
const noCredentials = { get: (): Credential | undefined => undefined };
type Frame = { id: string; type: string } & Record<string, unknown>;

/** A job with Full nightly, Differential every 6 h and logs every 15 min (the seed's example), run by a real JobRunner. */
async function chainHarness(engine: Engine, database: string, schedules: BackupMode[]) {
  const dir = await mkdtemp(join(tmpdir(), "ds-chain-"));
  const store = await AgentStore.open(join(dir, "state"));
  const frames: Frame[] = [];
  const logs: string[] = [];
  const folder = join(dir, "backups");
  const cron: Record<BackupMode, string> = { Full: "0 2 * * *", Differential: "0 */6 * * *", TransactionLog: "*/15 * * * *" };
  const job: AgentJob = {
    backupJobId: randomUUID(),
    name: "chain",
    isEnabled: true,
    schedules: schedules.map((backupMode) => ({ backupMode, cronExpression: cron[backupMode] })),
    retentionDays: 30,
    databases: [{ databaseId: randomUUID(), name: database, dbmsType: engine.dbmsType, engineKey: engine.engineKey }],
    destinations: [{ destinationId: randomUUID(), name: "local", type: "LocalStorage", settings: { path: folder }, credentialReferenceId: null }],
    encryption: { enabled: true, algorithm: "AES-256", passphrase: PASSPHRASE },
  };
  store.saveJob(job);
  // Each run gets its own minute, as scheduled runs would: file names are unique per second.
  let minutes = 0;
  const runner = new JobRunner({
    store,
    engines: [engine],
    compression: "gzip",
    now: () => new Date(Date.UTC(2026, 2, 26, 2, minutes++)),
    send: (frame) => frames.push(frame),
    report: (severity, message) => logs.push(`${severity}: ${message}`),
    encryptOptions: { scrypt: { log2N: 10, r: 8, p: 1 } },
    stagingDirectory: join(dir, "staging"),
  });
  return {
    folder,
    destination: job.destinations[0]! as RestoreRunCommand["files"][number]["destination"],
    /** Runs one backup and returns its completed file (or throws with the run's error). */
    async run(mode: BackupMode) {
      runner.trigger({ backupJobId: job.backupJobId, mode, trigger: "Schedule" });
      await runner.idle();
      const last = frames.filter((frame) => frame.type === "backup.completed" || frame.type === "backup.failed").pop()!;
      if (last.type === "backup.failed") throw new Error(String(last.error));
      return (last.files as { fileName: string; checksum: string; backupMode: string; baseFileName?: string | null }[])[0]!;
    },
    /** What job.delete does first: engines free what the job's chains hold on the server. */
    release: () => runner.releaseChains(job.backupJobId),
    async close() {
      store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A moment strictly between two writes, a second and more from each (binary log times have 1 s resolution). */
async function pointBetween(writeBefore: () => void, writeAfter: () => void): Promise<Date> {
  writeBefore();
  await sleep(1200);
  const point = new Date();
  await sleep(1200);
  writeAfter();
  return point;
}

async function restoreWithCli(file: string, to: string, until?: Date): Promise<void> {
  const args = ["restore", "--file", file, "--to", to, "--passphrase", PASSPHRASE, ...(until ? ["--until", until.toISOString()] : [])];
  expect(await main(args)).toBe(0);
}

describe("MariaDB chain: physical Full, Differential, binary logs", () => {
  let server: PrivateServer;
  let engine: MysqlEngine;
  beforeAll(async () => {
    server = await startPrivateMariadb();
    engine = new MysqlEngine({ type: "MariaDb", engineKey: "maria", host: "127.0.0.1", port: server.port, username: "root" }, noCredentials);
    server.sql("CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, label VARCHAR(100)) ENGINE=InnoDB; INSERT INTO shop.orders VALUES (1, 'before the Full')");
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("reports Full, Differential and TransactionLog capabilities for a local MariaDB with log_bin", async () => {
    const [inventory] = await collectInventory([engine], (_, error) => {
      throw error;
    });
    expect(inventory!.capabilities).toEqual({ backupModes: ["Full", "Differential", "TransactionLog"], restore: true });
  });

  it("runs Full, Differential and logs against the server and restores the chain to a point in time", async () => {
    const chain = await chainHarness(engine, "shop", ["Full", "Differential", "TransactionLog"]);
    try {
      const insert = (id: number, label: string) => () => server.sql(`INSERT INTO shop.orders VALUES (${id}, '${label}')`);
      const full = await chain.run("Full");
      expect(full).toMatchObject({ backupMode: "Full", fileName: "shop_Full_20260326_020000.tar.gz.enc" });
      expect(full.baseFileName).toBeUndefined();
      insert(2, "after the Full")();
      const differential = await chain.run("Differential");
      expect(differential).toMatchObject({ backupMode: "Differential", baseFileName: full.fileName });
      insert(3, "after the Differential")();
      const firstLog = await chain.run("TransactionLog");
      expect(firstLog).toMatchObject({ backupMode: "TransactionLog", baseFileName: differential.fileName });
      const point = await pointBetween(insert(4, "before the point"), insert(5, "after the point"));
      const lastLog = await chain.run("TransactionLog");
      expect(lastLog).toMatchObject({ backupMode: "TransactionLog", baseFileName: firstLog.fileName });

      await restoreWithCli(join(chain.folder, lastLog.fileName), `mariadb://root@127.0.0.1:${server.port}/shop_at_point`, point);
      expect(server.sql("SELECT GROUP_CONCAT(id ORDER BY id) FROM shop_at_point.orders")).toBe("1,2,3,4");
      await restoreWithCli(join(chain.folder, lastLog.fileName), `mariadb://root@127.0.0.1:${server.port}/shop_latest`);
      expect(server.sql("SELECT GROUP_CONCAT(id ORDER BY id) FROM shop_latest.orders")).toBe("1,2,3,4,5");
    } finally {
      await chain.close();
    }
  });

  it("restore.run with overwrite drops the old database only once the chain has decrypted: a wrong passphrase leaves it", async () => {
    const chain = await chainHarness(engine, "shop", ["Full", "Differential"]);
    try {
      const files = [await chain.run("Full"), await chain.run("Differential")].map(({ fileName, checksum }) => ({ destination: chain.destination, fileName, checksum }));
      server.sql("CREATE DATABASE shop_replaced; CREATE TABLE shop_replaced.marker (x INT); INSERT INTO shop_replaced.marker VALUES (42)");
      const sent: Frame[] = [];
      const ctx = { engines: [engine], credentials: { ...noCredentials, hostKey: () => undefined, rememberHostKey: () => undefined }, send: (frame: Frame) => void sent.push(frame), now: () => new Date() };
      const restore = (passphrase: string): RestoreRunCommand => ({ type: "restore.run", restoreId: randomUUID(), files, engineKey: "maria", encryption: { passphrase }, target: { databaseName: "shop_replaced", overwrite: true } });

      await runRestore(ctx, restore("not the passphrase at all"));
      expect(sent.at(-1)).toMatchObject({ type: "restore.failed", error: "Wrong passphrase for this backup file." });
      expect(server.sql("SELECT x FROM shop_replaced.marker")).toBe("42");

      await runRestore(ctx, restore(PASSPHRASE));
      expect(sent.at(-1)).toMatchObject({ type: "restore.completed" });
      expect(server.sql("SELECT GROUP_CONCAT(id ORDER BY id) FROM shop_replaced.orders")).toBe(server.sql("SELECT GROUP_CONCAT(id ORDER BY id) FROM shop.orders"));
      expect(server.sql("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'shop_replaced' AND table_name = 'marker'")).toBe("0");
    } finally {
      await chain.close();
    }
  });

  it("refuses a Differential before any physical Full, and a job of only Full runs stay logical dumps", async () => {
    const chain = await chainHarness(engine, "shop", ["Full"]);
    try {
      await expect(chain.run("Differential")).rejects.toThrow('Database "shop": a Differential backup builds on a physical Full of this job, and there is none yet: run a Full first.');
      const full = await chain.run("Full");
      expect(full.fileName).toMatch(/^shop_Full_20260326_\d{6}\.sql\.gz\.enc$/);
      expect((await readdir(chain.folder)).filter((name) => name.endsWith(".enc"))).toEqual([full.fileName]);
    } finally {
      await chain.close();
    }
  });
});

describe("PostgreSQL chain: pg_basebackup Full and archived WAL", () => {
  let server: PrivateServer;
  let engine: PostgresEngine;
  beforeAll(async () => {
    server = await startPrivatePostgres();
    engine = new PostgresEngine({ type: "PostgreSql", engineKey: "pg", host: "127.0.0.1", port: server.port, username: "postgres", format: "custom" }, noCredentials);
    server.sql("CREATE DATABASE shop");
    server.sql("CREATE TABLE orders (id int PRIMARY KEY, label text); INSERT INTO orders VALUES (1, 'before the Full')", "shop");
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("reports Full and TransactionLog, not Differential, for PostgreSQL 15", async () => {
    const [inventory] = await collectInventory([engine], (_, error) => {
      throw error;
    });
    expect(inventory!.capabilities).toEqual({ backupModes: ["Full", "TransactionLog"], restore: true });
    const chain = await chainHarness(engine, "shop", ["Full", "Differential"]);
    try {
      await expect(chain.run("Differential")).rejects.toThrow('PostgreSQL engine "pg" cannot make Differential backups here (it can: Full, TransactionLog).');
    } finally {
      await chain.close();
    }
  });

  it("runs a Full and logs against the server and restores the chain to a point in time", { timeout: 180_000 }, async () => {
    const chain = await chainHarness(engine, "shop", ["Full", "TransactionLog"]);
    try {
      const insert = (id: number, label: string) => () => server.sql(`INSERT INTO orders VALUES (${id}, '${label}')`, "shop");
      const full = await chain.run("Full");
      expect(full).toMatchObject({ backupMode: "Full", fileName: "shop_Full_20260326_020000.tar.gz.enc" });
      insert(2, "after the Full")();
      const firstLog = await chain.run("TransactionLog");
      expect(firstLog).toMatchObject({ backupMode: "TransactionLog", baseFileName: full.fileName });
      const point = await pointBetween(insert(3, "before the point"), insert(4, "after the point"));
      const lastLog = await chain.run("TransactionLog");
      expect(lastLog).toMatchObject({ backupMode: "TransactionLog", baseFileName: firstLog.fileName });
      // The slot keeps WAL only until it is in a backup: the second log advanced it past the first's end.
      expect(server.sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'datasync_%' AND restart_lsn IS NOT NULL")).toBe("1");

      await restoreWithCli(join(chain.folder, lastLog.fileName), `postgres://postgres@127.0.0.1:${server.port}/shop_at_point`, point);
      expect(server.sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM orders", "shop_at_point")).toBe("1,2,3");
      await restoreWithCli(join(chain.folder, lastLog.fileName), `postgres://postgres@127.0.0.1:${server.port}/shop_latest`);
      expect(server.sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM orders", "shop_latest")).toBe("1,2,3,4");
      await chain.release(); // the job is deleted: its slot goes, so the server stops keeping WAL for it
      expect(server.sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'datasync_%'")).toBe("0");
    } finally {
      await chain.close();
    }
  });
});
