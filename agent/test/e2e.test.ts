/**
 * The agent against the real platform: the Worker under `wrangler dev` with fresh state, a user who
 * registers, confirms and logs in through the API, an agent enrolled and run by its own CLI as a
 * separate process, real SQLite and PostgreSQL databases, LocalStorage (and S3, SFTP, Azure Blob on
 * local servers), restores compared by content.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { fileChecksum } from "../src/pipeline/restore-pipeline.ts";
import { eventually as waitFor } from "./support/eventually.ts";
import { dropPostgresDatabase, POSTGRES_FINGERPRINT, POSTGRES_SEED, psql, scratchName } from "./support/databases.ts";
import { ApiClient, signUp, startPlatform, type LocalPlatform } from "../dev/local-platform.ts";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite } from "./support/azurite.ts";
import { SocketProxy } from "./support/socket-proxy.ts";
import { sshdUnavailableReason, startSshd } from "./support/sshd.ts";
// @ts-expect-error s3rver ships no types
import S3rver from "s3rver";

const CLI = resolve(import.meta.dirname, "../src/cli.ts");
const PASSPHRASE = "end-to-end passphrase 42";
const run = promisify(execFile);

function cli(args: string[]) {
  return run(process.execPath, ["--disable-warning=ExperimentalWarning", CLI, ...args], { env: process.env });
}

let dir: string;
let platform: LocalPlatform;
let proxy: SocketProxy;
let user: ApiClient;
let agentId: string;
let agentProcess: ChildProcess | undefined;
let agentLog = "";
const pgSource = scratchName("ds_e2e_src");
const restoredDatabases: string[] = [];
let stateDir: string;
let configPath: string;

function startAgentProcess(): ChildProcess {
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", CLI, "run", "--config", configPath, "--state-dir", stateDir], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (text) => (agentLog += text));
  child.stderr!.on("data", (text) => (agentLog += text));
  agentProcess = child;
  return child;
}

async function stopAgentProcess(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  const child = agentProcess;
  agentProcess = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill(signal);
  await exited;
}

function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs?: number): Promise<T> {
  return waitFor(probe, what, () => `Agent output:\n${agentLog.slice(-3000)}`, timeoutMs);
}

interface DatabaseRow {
  databaseId: string;
  name: string;
  dbmsType: string;
}
interface HistoryRow {
  backupRunId: string;
  status: string;
  trigger: string;
  totalSize: number;
  error: string | null;
}
interface FileRow {
  backupFileId: string;
  backupJobId: string;
  fileName: string;
  fileSize: number;
  checksum: string;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ds-e2e-"));
  platform = await startPlatform(join(dir, "platform"));
  proxy = new SocketProxy(platform.url);
  const proxyUrl = await proxy.start();
  user = await signUp(platform);
  // Four jobs and destinations: beyond the Free plan, so the operator API upgrades the subscriber.
  const { subscriberId } = await user.ok<{ subscriberId: string }>("GET", "/api/account");
  const upgraded = await user.call("PUT", `/api/admin/subscriber/${subscriberId}/plan`, { plan: "Ultimate" }, platform.adminToken);
  expect(upgraded.status).toBe(200);

  psql("postgres", `CREATE DATABASE "${pgSource}"`);
  psql(pgSource, POSTGRES_SEED);
  await mkdir(join(dir, "data"));
  const shop = new DatabaseSync(join(dir, "data", "shop.db"));
  shop.exec("CREATE TABLE item (id INTEGER PRIMARY KEY, label TEXT, price REAL); ");
  const insert = shop.prepare("INSERT INTO item (label, price) VALUES (?, ?)");
  for (let i = 0; i < 2000; i++) insert.run(`item ${i} ‘quoted’`, i * 1.25);
  shop.close();

  configPath = join(dir, "agent.json");
  await writeFile(
    configPath,
    JSON.stringify({
      // Only the engines written here: discovery (tested in install.test.ts) would add the local MariaDB.
      discovery: { enabled: false },
      engines: [
        { type: "Sqlite", engineKey: "files", paths: [join(dir, "data", "*.db")] },
        { type: "PostgreSql", engineKey: "pg-local", host: "127.0.0.1", port: 5432, username: "postgres", databases: [pgSource] },
      ],
    }),
  );
  stateDir = join(dir, "agent-state");
  const { registrationToken } = await user.ok<{ registrationToken: string }>("POST", "/api/agent/registration-token", {});
  const enrolled = await cli(["enroll", "--server", platform.url, "--token", registrationToken, "--name", "E2E box", "--state-dir", stateDir]);
  agentId = /agent ([0-9a-f-]{36})/.exec(enrolled.stdout)![1];
  // The agent reaches the platform through the relay, so one test can cut it off at an exact moment.
  const identity = JSON.parse(await readFile(join(stateDir, "identity.json"), "utf8"));
  await writeFile(join(stateDir, "identity.json"), JSON.stringify({ ...identity, server: proxyUrl }), { mode: 0o600 });
  startAgentProcess();
}, 240_000);

afterAll(async () => {
  await stopAgentProcess();
  await proxy?.stop();
  await platform?.stop();
  for (const name of [pgSource, ...restoredDatabases]) dropPostgresDatabase(name);
  await rm(dir, { recursive: true, force: true });
});

// A failure shows what the agent said, which the assertion alone cannot.
afterEach(({ task }) => {
  if (task.result?.state === "fail") console.error(`Agent output (last 4000 characters):\n${agentLog.slice(-4000)}\nPlatform output:\n${platform.output().slice(-4000)}`);
});

async function discoveredDatabases(): Promise<DatabaseRow[]> {
  return eventually(async () => {
    const rows = await user.ok<DatabaseRow[]>("GET", `/api/database?agentId=${agentId}`);
    return rows.length >= 2 ? rows : undefined;
  }, "the agent's inventory");
}

async function createJob(name: string, encryption: { enabled: boolean; passphrase?: string }, folder: string) {
  const databases = await discoveredDatabases();
  const destination = await user.ok<{ destinationId: string }>("POST", "/api/destination", { name: `${name} disk`, type: "LocalStorage", agentId, settings: { path: join(dir, folder) } });
  const job = await user.ok<{ backupJobId: string }>("POST", "/api/backupjob", {
    name,
    agentId,
    databaseIds: databases.map((d) => d.databaseId),
    destinationIds: [destination.destinationId],
    schedules: [],
    retentionDays: 30,
    encryption,
  });
  return { backupJobId: job.backupJobId, destinationId: destination.destinationId, databases };
}

/**
 * Triggers a run. `wrangler dev` reloads the Worker when files of the tree change (others edit it
 * while these tests run during development), which drops the agent's socket for a moment: a trigger
 * refused because the agent is offline is retried until it has reconnected.
 */
async function trigger(backupJobId: string, backupMode = "Full"): Promise<string> {
  return eventually(async () => {
    const response = await user.call<{ backupRunId?: string; error?: string }>("POST", `/api/backupjob/${backupJobId}/run`, { backupMode });
    if (response.status === 200) return response.body.backupRunId!;
    if (response.status === 400 && /offline/i.test(response.body.error ?? "")) return undefined;
    throw new Error(`POST /api/backupjob/${backupJobId}/run → ${response.status} ${JSON.stringify(response.body)}`);
  }, "the agent to accept a trigger", 60_000);
}

async function runAndWait(backupJobId: string, backupMode = "Full"): Promise<HistoryRow> {
  const backupRunId = await trigger(backupJobId, backupMode);
  return eventually(async () => {
    const history = await user.ok<HistoryRow[]>("GET", `/api/backupjob/${backupJobId}/history`);
    const row = history.find((r) => r.backupRunId === backupRunId);
    return row && (row.status === "Success" || row.status === "Failed") ? row : undefined;
  }, `run ${backupRunId}`);
}

async function checkFilesAndRestore(backupJobId: string, folder: string, passphrase?: string) {
  const files = await user.ok<FileRow[]>("GET", `/api/backupfile?backupJobId=${backupJobId}`);
  expect(files).toHaveLength(2);
  for (const file of files) {
    const path = join(dir, folder, file.fileName);
    expect(file.fileSize).toBe((await stat(path)).size);
    expect(file.checksum).toBe(await fileChecksum(path));
  }
  const sqliteFile = files.find((f) => f.fileName.startsWith("shop_Full_"))!;
  const pgFile = files.find((f) => f.fileName.startsWith(`${pgSource}_Full_`))!;
  const suffix = passphrase ? ".gz.enc" : ".gz";
  expect(sqliteFile.fileName).toMatch(new RegExp(`^shop_Full_\\d{8}_\\d{6}\\.sqlite${suffix.replace(".", "\\.")}$`));
  expect(pgFile.fileName.endsWith(`.dump${suffix}`)).toBe(true);

  const passphraseArgs = passphrase ? ["--passphrase", passphrase] : [];
  const restoredShop = join(dir, `restored-${folder}.db`);
  await cli(["restore", "--file", join(dir, folder, sqliteFile.fileName), "--to", restoredShop, "--checksum", sqliteFile.checksum, ...passphraseArgs]);
  const fingerprint = "SELECT count(*) AS n, group_concat(id || label || price) AS rows FROM item";
  const original = new DatabaseSync(join(dir, "data", "shop.db"), { readOnly: true });
  const copy = new DatabaseSync(restoredShop, { readOnly: true });
  expect(copy.prepare(fingerprint).get()).toEqual(original.prepare(fingerprint).get());
  original.close();
  copy.close();

  const target = scratchName("ds_e2e_restored");
  restoredDatabases.push(target);
  const restored = await cli(["restore", "--file", join(dir, folder, pgFile.fileName), "--to", `postgres://postgres@127.0.0.1:5432/${target}`, ...passphraseArgs]);
  expect(restored.stdout).toContain(`Checksum verified (${pgFile.checksum})`);
  expect(psql(target, POSTGRES_FINGERPRINT)).toBe(psql(pgSource, POSTGRES_FINGERPRINT));
  return files;
}

/** A copy of the encrypted shop backup fetched from a destination: its checksum matches and every row restores. */
async function expectShopRestores(copyPath: string, file: FileRow, name: string) {
  expect(await fileChecksum(copyPath)).toBe(file.checksum);
  const restored = join(dir, `restored-${name}.db`);
  await cli(["restore", "--file", copyPath, "--checksum", file.checksum, "--passphrase", PASSPHRASE, "--to", restored]);
  const copy = new DatabaseSync(restored, { readOnly: true });
  expect((copy.prepare("SELECT count(*) AS n FROM item").get() as { n: number }).n).toBe(2000);
  copy.close();
}

describe("agent end to end against wrangler dev", () => {
  it("comes online and reports its engines and databases", async () => {
    const databases = await discoveredDatabases();
    expect(databases.map((d) => [d.name, d.dbmsType]).sort()).toEqual([[pgSource, "PostgreSql"], ["shop", "Sqlite"]].sort());
    const agent = await eventually(async () => {
      const detail = await user.ok<{ isOnline: boolean; displayName: string; engines: unknown[] }>("GET", `/api/agent/${agentId}`);
      return detail.isOnline ? detail : undefined;
    }, "the agent to be online", 30_000);
    expect(agent).toMatchObject({ isOnline: true, displayName: "E2E box" });
    expect(agent.engines).toHaveLength(2);
  });

  it("backs up SQLite and PostgreSQL to LocalStorage without encryption; the platform lists the files; both restore", async () => {
    const job = await createJob("Plain nightly", { enabled: false }, "plain");
    const result = await runAndWait(job.backupJobId);
    expect(result).toMatchObject({ status: "Success", trigger: "Manual", error: null });
    const files = await checkFilesAndRestore(job.backupJobId, "plain");
    expect(result.totalSize).toBe(files.reduce((sum, f) => sum + f.fileSize, 0));
  });

  it("backs up with encryption; the files restore with the passphrase only", async () => {
    const job = await createJob("Encrypted nightly", { enabled: true, passphrase: PASSPHRASE }, "encrypted");
    expect((await runAndWait(job.backupJobId)).status).toBe("Success");
    await checkFilesAndRestore(job.backupJobId, "encrypted", PASSPHRASE);
    const files = await user.ok<FileRow[]>("GET", `/api/backupfile?backupJobId=${job.backupJobId}`);
    await expect(cli(["restore", "--file", join(dir, "encrypted", files[0].fileName), "--to", join(dir, "nope.out"), "--passphrase", "not the passphrase"])).rejects.toMatchObject({
      stderr: "datasync-agent: Wrong passphrase for this backup file.\n",
    });
  });

  it.skipIf(sshdUnavailableReason())("sends one run to S3 and SFTP at once, with credentials delivered by the platform", async () => {
    const s3 = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: join(dir, "s3"), configureBuckets: [{ name: "offsite" }] });
    const { port: s3Port } = await s3.run();
    const sshd = await startSshd(join(dir, "sshd"));
    try {
      const s3Credential = await user.ok<{ credentialReferenceId: string }>("POST", "/api/credential", {
        name: "Local S3 keys",
        agentId,
        credential: { $type: "S3Credential", accessKeyId: "S3RVER", secretAccessKey: "S3RVER", region: "us-east-1" },
      });
      const sftpCredential = await user.ok<{ credentialReferenceId: string }>("POST", "/api/credential", {
        name: "Backup host key",
        agentId,
        credential: { $type: "SftpCredential", username: sshd.username, privateKey: sshd.privateKey },
      });
      const s3Destination = await user.ok<{ destinationId: string }>("POST", "/api/destination", {
        name: "Offsite S3",
        type: "S3Storage",
        agentId,
        settings: { bucket: "offsite", region: "us-east-1", prefix: "datasync", endpoint: `http://127.0.0.1:${s3Port}` },
        credentialReferenceId: s3Credential.credentialReferenceId,
      });
      const sftpDestination = await user.ok<{ destinationId: string }>("POST", "/api/destination", {
        name: "Backup host",
        type: "SftpStorage",
        agentId,
        settings: { host: "127.0.0.1", port: sshd.port, path: join(dir, "sftp-backups") },
        credentialReferenceId: sftpCredential.credentialReferenceId,
      });
      const shop = (await discoveredDatabases()).find((d) => d.name === "shop")!;
      const job = await user.ok<{ backupJobId: string }>("POST", "/api/backupjob", {
        name: "Offsite",
        agentId,
        databaseIds: [shop.databaseId],
        destinationIds: [s3Destination.destinationId, sftpDestination.destinationId],
        retentionDays: 7,
        encryption: { enabled: true, passphrase: PASSPHRASE },
      });
      const result = await runAndWait(job.backupJobId);
      expect(result).toMatchObject({ status: "Success", error: null });

      const files = await user.ok<FileRow[]>("GET", `/api/backupfile?backupJobId=${job.backupJobId}`);
      expect(files).toHaveLength(2); // one per destination, the same bytes
      expect(new Set(files.map((f) => `${f.fileName} ${f.fileSize} ${f.checksum}`)).size).toBe(1);
      const [file] = files;
      const sftpCopy = join(dir, "sftp-backups", file.fileName);
      expect(await fileChecksum(sftpCopy)).toBe(file.checksum);
      const s3Object = await fetch(`http://127.0.0.1:${s3Port}/offsite/datasync/${file.fileName}`);
      expect(s3Object.status).toBe(200);
      const s3Copy = join(dir, `s3-${file.fileName}`);
      await writeFile(s3Copy, Buffer.from(await s3Object.arrayBuffer()));
      await expectShopRestores(s3Copy, file, "offsite");
    } finally {
      await sshd.stop();
      await s3.close();
    }
  });

  it("backs up to Azure Blob (Azurite) with a connection string delivered by the platform; the files are listed and restore", async () => {
    const azurite = await startAzurite(await mkdtemp(join(dir, "azurite-")));
    try {
      const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("datasync-e2e");
      await container.create();
      const credential = await user.ok<{ credentialReferenceId: string }>("POST", "/api/credential", {
        name: "Azurite",
        agentId,
        credential: { $type: "ConnectionStringCredential", connectionString: azurite.connectionString },
      });
      const destination = await user.ok<{ destinationId: string }>("POST", "/api/destination", {
        name: "Blob offsite",
        type: "AzureBlobStorage",
        agentId,
        settings: { container: "datasync-e2e", prefix: "nightly" },
        credentialReferenceId: credential.credentialReferenceId,
      });
      const shop = (await discoveredDatabases()).find((d) => d.name === "shop")!;
      const job = await user.ok<{ backupJobId: string }>("POST", "/api/backupjob", {
        name: "Blob",
        agentId,
        databaseIds: [shop.databaseId],
        destinationIds: [destination.destinationId],
        retentionDays: 7,
        encryption: { enabled: true, passphrase: PASSPHRASE },
      });
      expect(await runAndWait(job.backupJobId)).toMatchObject({ status: "Success", error: null });

      const [file, ...others] = await user.ok<FileRow[]>("GET", `/api/backupfile?backupJobId=${job.backupJobId}`);
      expect(others).toEqual([]);
      const blobCopy = join(dir, `blob-${file.fileName}`);
      await container.getBlockBlobClient(`nightly/${file.fileName}`).downloadToFile(blobCopy);
      expect((await stat(blobCopy)).size).toBe(file.fileSize);
      await expectShopRestores(blobCopy, file, "blob");
    } finally {
      await azurite.stop();
    }
  });

  it("restores from the platform: POST /api/backupfile/{id}/restore reaches Success with tables and rows, and a drill records evidence", async () => {
    const job = await createJob("Restore from the platform", { enabled: true, passphrase: PASSPHRASE }, "restore-from-platform");
    expect((await runAndWait(job.backupJobId)).status).toBe("Success");
    const files = await user.ok<FileRow[]>("GET", `/api/backupfile?backupJobId=${job.backupJobId}`);
    const pgFile = files.find((f) => f.fileName.startsWith(`${pgSource}_Full_`))!;
    const target = scratchName("ds_e2e_restored");
    restoredDatabases.push(target);
    const queued = await eventually(async () => {
      const response = await user.call<{ restoreId?: string; message?: string; error?: string }>("POST", `/api/backupfile/${pgFile.backupFileId}/restore`, { targetDatabaseName: target });
      if (response.status === 400 && /offline/i.test(response.body.error ?? "")) return undefined;
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body;
    }, "the restore to be queued", 60_000);
    expect(queued.message).toBe("Restore queued.");
    const restore = await eventually(async () => {
      const row = await user.ok<{ status: string; tables: number | null; rows: number | null; error: string | null; bytesDone: number }>("GET", `/api/restore/${queued.restoreId}`);
      return row.status === "Success" || row.status === "Failed" ? row : undefined;
    }, `restore ${queued.restoreId}`);
    expect(restore).toMatchObject({ status: "Success", tables: 1, rows: 500, error: null });
    expect(psql(target, POSTGRES_FINGERPRINT)).toBe(psql(pgSource, POSTGRES_FINGERPRINT));

    const { verificationId } = await user.ok<{ verificationId: string }>("POST", `/api/backupjob/${job.backupJobId}/verify`, {});
    const drill = await eventually(async () => {
      const rows = await user.ok<{ verificationId: string; status: string; tables: number | null; rows: number | null; error: string | null }[]>("GET", `/api/backupjob/${job.backupJobId}/verifications`);
      const row = rows.find((r) => r.verificationId === verificationId);
      return row && (row.status === "Success" || row.status === "Failed") ? row : undefined;
    }, `verification ${verificationId}`);
    expect(drill.error).toBeNull();
    expect(drill.status).toBe("Success");
    expect(psql("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'ds_verify_%'")).toBe("0");
  });

  it("has a Differential run-now refused by the platform, from the capabilities the agent reported", async () => {
    const job = await createJob("Differential attempt", { enabled: false }, "differential");
    const response = await user.call<{ error?: string }>("POST", `/api/backupjob/${job.backupJobId}/run`, { backupMode: "Differential" });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/^Engine "[^"]+" \((PostgreSql|Sqlite)\) cannot make Differential backups \(it can: Full/);
  });

  it("killed right after sending its report, restarted: the run is recorded exactly once", async () => {
    const job = await createJob("Crash test", { enabled: false }, "crash");
    const child = agentProcess!;
    let reportSeen!: () => void;
    const seen = new Promise<void>((done) => (reportSeen = done));
    proxy.onAgentFrame = (text) => {
      if (!text.includes('"type":"backup.completed"')) return;
      // The platform has the report; the agent dies before the ack can reach it.
      proxy.holdPlatformFrames = true;
      child.kill("SIGKILL");
      reportSeen();
    };
    const backupRunId = await trigger(job.backupJobId);
    await seen;
    await new Promise((done) => child.once("exit", done));
    proxy.onAgentFrame = () => {};
    proxy.holdPlatformFrames = false;
    agentProcess = undefined;

    const status = await cli(["status", "--state-dir", stateDir]);
    expect(status.stdout).toMatch(/unconfirmed reports: [1-9]/);

    startAgentProcess();
    const drained = await eventually(async () => {
      const out = (await cli(["status", "--state-dir", stateDir])).stdout;
      return /unconfirmed reports: 0\b/.test(out) ? out : undefined;
    }, "the outbox to drain after the restart");
    expect(drained).toContain("Crash test");

    const history = await user.ok<HistoryRow[]>("GET", `/api/backupjob/${job.backupJobId}/history`);
    expect(history.map((r) => [r.backupRunId, r.status])).toEqual([[backupRunId, "Success"]]);
    const files = await user.ok<FileRow[]>("GET", `/api/backupfile?backupJobId=${job.backupJobId}`);
    expect(files).toHaveLength(2);
    for (const file of files) expect(file.checksum).toBe(await fileChecksum(join(dir, "crash", file.fileName)));
  });
  it("deleted on the platform: the agent removes its state and exits 3 with a one-line message", async () => {
    const child = agentProcess!;
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    agentLog = "";
    expect(await user.ok("DELETE", `/api/agent/${agentId}`)).toEqual({ message: "Agent deleted." });
    expect(await exited).toBe(3);
    agentProcess = undefined;
    expect(agentLog).toContain("datasync-agent: This agent was deleted on the platform; its local state was removed. Enroll again to back up this machine.\n");
    expect(agentLog).not.toMatch(/\n\s+at /); // no stack trace
    await expect(cli(["status", "--state-dir", stateDir])).rejects.toMatchObject({ stderr: expect.stringContaining("No agent state in") });
  });
});
