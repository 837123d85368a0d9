import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AGENT_BUDGET, type AgentJob } from "../../src/protocol/agent-protocol.ts";
import { Agent } from "../src/agent.ts";
import { main } from "../src/cli.ts";
import { AgentConfig } from "../src/config.ts";
import { createEngines } from "../src/engines/index.ts";
import type { Engine } from "../src/engines/engine.ts";
import { fileChecksum } from "../src/pipeline/restore-pipeline.ts";
import { AgentStore, loadIdentity } from "../src/state.ts";
import { FakePlatform, type ReceivedFrame } from "./support/fake-platform.ts";

const FAST = { scrypt: { log2N: 10, r: 8, p: 1 } };

let dir: string;
let platform: FakePlatform;
let server: string;
const running: { agent: Agent; store: AgentStore }[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ds-agent-"));
  platform = new FakePlatform();
  server = await platform.start();
  await mkdir(join(dir, "data"));
  const db = new DatabaseSync(join(dir, "data", "shop.db"));
  db.exec("CREATE TABLE item (id INTEGER PRIMARY KEY, label TEXT); INSERT INTO item (label) VALUES ('a'), ('b'), ('c');");
  db.close();
});

afterEach(async () => {
  for (const { agent } of running.splice(0)) await agent.stop().catch(() => {});
  await platform.stop();
  await rm(dir, { recursive: true, force: true });
});

async function enroll(): Promise<string> {
  const token = `reg_${randomUUID()}`;
  platform.registrationTokens.add(token);
  const stateDir = join(dir, "state");
  expect(await main(["enroll", "--server", server, "--token", token, "--state-dir", stateDir, "--name", "Test box"])).toBe(0);
  return stateDir;
}

async function startAgent(stateDir: string, now?: () => Date, extraEngines: Engine[] = []) {
  const config = AgentConfig.parse({ engines: [{ type: "Sqlite", engineKey: "files", paths: [join(dir, "data", "*.db")] }], tempDirectory: join(dir, "staging") });
  const store = await AgentStore.open(stateDir);
  const agent = new Agent({
    identity: await loadIdentity(stateDir),
    stateDir,
    config,
    store,
    engines: [...createEngines(config, store), ...extraEngines],
    now,
    print: () => {},
    backoff: { initialMs: 20, maxMs: 100 },
    inventoryIntervalMs: 200,
    encryptOptions: FAST,
  });
  agent.start();
  running.push({ agent, store });
  return { agent, store };
}

function job(overrides: Partial<AgentJob> = {}): AgentJob {
  return {
    backupJobId: randomUUID(),
    name: "Nightly shop",
    isEnabled: true,
    schedules: [],
    retentionDays: 30,
    databases: [{ databaseId: randomUUID(), name: "shop", dbmsType: "Sqlite", engineKey: "files" }],
    destinations: [{ destinationId: randomUUID(), name: "Disk", type: "LocalStorage", settings: { path: join(dir, "backups") }, credentialReferenceId: null }],
    encryption: { enabled: false, algorithm: null, passphrase: null },
    ...overrides,
  };
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
}

const forRun = (backupRunId: string, type: string) => (frames: ReceivedFrame[]) => frames.some((f) => f.type === type && f.backupRunId === backupRunId);

describe("enroll", () => {
  it("stores the identity with owner-only permissions and refuses a used token in one line", async () => {
    const stateDir = await enroll();
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(stateDir, "identity.json"))).mode & 0o777).toBe(0o600);
    const identity = JSON.parse(await readFile(join(stateDir, "identity.json"), "utf8"));
    expect(identity).toMatchObject({ server, agentId: platform.agentId, agentToken: platform.agentToken });

    const errors: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((text: string) => (errors.push(text), true)) as typeof process.stderr.write;
    try {
      expect(await main(["enroll", "--server", server, "--token", "reg_used", "--state-dir", join(dir, "other")])).toBe(1);
      expect(await main(["enroll", "--server", server, "--token", "x", "--state-dir", stateDir])).toBe(1);
      expect(await main(["enroll", "--server", `${server}/nothing-here`, "--token", "x", "--state-dir", join(dir, "third")])).toBe(1);
      expect(await main(["status", "--state-dir", join(dir, "missing")])).toBe(1);
    } finally {
      process.stderr.write = original;
    }
    expect(errors).toEqual([
      `datasync-agent: Enrollment refused by ${server}: Registration token is invalid, expired or already used.\n`,
      `datasync-agent: ${stateDir} already holds an enrolled agent; use --force to replace it or --state-dir for another one.\n`,
      `datasync-agent: ${server}/nothing-here does not look like a DataSync server (HTTP 404 on /api/agent/register).\n`,
      `datasync-agent: No agent state in ${join(dir, "missing")}: run "datasync-agent enroll --server URL --token REG" first (or pass --state-dir).\n`,
    ]);
  });
});

describe("running agent", () => {
  it("says hello, reports its inventory, runs a manual backup and reports the file", async () => {
    const stateDir = await enroll();
    await startAgent(stateDir);
    await platform.waitFor((frames) => frames.some((f) => f.type === "inventory"), "inventory");
    expect(platform.frames[0]).toMatchObject({ type: "hello", version: "0.1.0", displayName: "Test box", hostname: expect.any(String), operatingSystem: expect.any(String) });
    // Protocol 1.1: what this agent can write, so the platform can refuse a job it could not run.
    expect(platform.frames[0].destinationTypes).toEqual(["LocalStorage", "S3Storage", "AzureBlobStorage", "SftpStorage", "GoogleCloudStorage"]);
    expect(platform.ofType("inventory")[0].engines).toEqual([{ engineKey: "files", dbmsType: "Sqlite", version: expect.any(String), databases: [{ name: "shop" }], capabilities: { backupModes: ["Full"], restore: true } }]);

    const theJob = job({ encryption: { enabled: true, algorithm: "AES-256", passphrase: "a long enough passphrase" } });
    const upsertId = platform.command({ type: "job.upsert", job: theJob });
    const backupRunId = randomUUID();
    const runId = platform.command({ type: "backup.run", backupRunId, backupJobId: theJob.backupJobId, backupMode: "Full" });
    await platform.waitFor(forRun(backupRunId, "backup.completed"), "backup.completed");
    expect(platform.ofType("ack").map((f) => f.id)).toEqual([upsertId, runId]);
    const started = platform.frames.find((f) => f.type === "backup.started")!;
    expect(started).toMatchObject({ backupRunId, backupJobId: theJob.backupJobId, backupMode: "Full", trigger: "Manual", startedUtc: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    const completed = platform.frames.find((f) => f.type === "backup.completed" && f.backupRunId === backupRunId)!;
    const files = completed.files as { fileName: string; fileSize: number; checksum: string; databaseId: string; destinationId: string }[];
    expect(files).toHaveLength(1);
    expect(files[0].fileName).toMatch(/^shop_Full_\d{8}_\d{6}\.sqlite\.gz\.enc$/);
    const path = join(dir, "backups", files[0].fileName);
    expect(files[0]).toMatchObject({ databaseId: theJob.databases[0].databaseId, destinationId: theJob.destinations[0].destinationId, fileSize: (await stat(path)).size, checksum: await fileChecksum(path), backupMode: "Full" });
    expect(files[0]).not.toHaveProperty("baseFileName"); // a Full builds on nothing
    expect(platform.ofType("log").map((f) => f.message)).toEqual(
      expect.arrayContaining([expect.stringContaining("Full backup started (Manual)"), expect.stringContaining("Full backup succeeded")]),
    );
  });

  it("sends a new inventory when a database appears, and stores and forgets credentials", async () => {
    const stateDir = await enroll();
    const { store } = await startAgent(stateDir);
    await platform.waitFor((frames) => frames.some((f) => f.type === "inventory"), "inventory");
    new DatabaseSync(join(dir, "data", "crm.db")).close();
    await platform.waitFor((frames) => frames.filter((f) => f.type === "inventory").length === 2, "second inventory");
    const latest = platform.ofType("inventory")[1].engines as { databases: { name: string }[] }[];
    expect(latest[0].databases).toEqual([{ name: "crm" }, { name: "shop" }]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(platform.ofType("inventory")).toHaveLength(2); // unchanged: not sent again

    const request = platform.command({ type: "inventory.request" });
    await platform.waitFor((frames) => frames.some((f) => f.type === "ack" && f.id === request), "inventory.request ack");
    // asked for: sent even though nothing changed
    await platform.waitFor((frames) => frames.filter((f) => f.type === "inventory").length === 3, "requested inventory");

    const credentialReferenceId = randomUUID();
    const upsert = platform.command({ type: "credential.upsert", credentialReferenceId, name: "PG login", credential: { $type: "BasicCredential", username: "backup", password: "s3cret" } });
    await platform.waitFor((frames) => frames.some((f) => f.type === "ack" && f.id === upsert), "credential ack");
    expect(store.get(credentialReferenceId)).toEqual({ $type: "BasicCredential", username: "backup", password: "s3cret" });
    const removal = platform.command({ type: "credential.delete", credentialReferenceId });
    await platform.waitFor((frames) => frames.some((f) => f.type === "ack" && f.id === removal), "delete ack");
    expect(store.get(credentialReferenceId)).toBeUndefined();
    expect(JSON.stringify(platform.frames)).not.toContain("s3cret");
  });

  it("applies a redelivered command once and acks it again", async () => {
    const stateDir = await enroll();
    await startAgent(stateDir);
    await platform.waitFor((frames) => frames.some((f) => f.type === "inventory"), "inventory");
    const theJob = job();
    platform.command({ type: "job.upsert", job: theJob });
    const commandId = randomUUID();
    const backupRunId = randomUUID();
    platform.command({ type: "backup.run", backupRunId, backupJobId: theJob.backupJobId, backupMode: "Full" }, commandId);
    await platform.waitFor(forRun(backupRunId, "backup.completed"), "completed");
    platform.command({ type: "backup.run", backupRunId, backupJobId: theJob.backupJobId, backupMode: "Full" }, commandId);
    await platform.waitFor((frames) => frames.filter((f) => f.type === "ack" && f.id === commandId).length === 2, "second ack");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(platform.ofType("backup.started")).toHaveLength(1);
  });

  it("keeps unacknowledged reports on disk and sends them again with the same ids after a reconnect", async () => {
    const stateDir = await enroll();
    const { store } = await startAgent(stateDir);
    await platform.waitFor((frames) => frames.some((f) => f.type === "inventory"), "inventory");
    platform.ackMessages = false;
    const theJob = job();
    platform.command({ type: "job.upsert", job: theJob });
    const backupRunId = randomUUID();
    platform.command({ type: "backup.run", backupRunId, backupJobId: theJob.backupJobId, backupMode: "Full" });
    await platform.waitFor(forRun(backupRunId, "backup.completed"), "completed");
    const firstIds = platform.frames.filter((f) => f.type.startsWith("backup.")).map((f) => f.id);
    expect(store.pendingMessages().map((entry) => entry.id)).toEqual(expect.arrayContaining(firstIds));

    platform.ackMessages = true;
    platform.frames.length = 0;
    platform.dropConnection();
    await platform.waitFor((frames) => firstIds.every((id) => frames.some((f) => f.id === id)), "resent reports");
    expect(platform.connections).toBe(2);
    await until(() => store.pendingMessages().length === 0);
    expect(store.pendingMessages()).toEqual([]);
  });

  /** An enrolled agent runs a job while the platform refuses its `backup.started` with `refusal`. */
  async function runWithStartRefused(refusal: string) {
    const stateDir = await enroll();
    const { store } = await startAgent(stateDir);
    await platform.waitFor((frames) => frames.some((f) => f.type === "inventory"), "inventory");
    platform.refuse = (frame) => (frame.type === "backup.started" ? refusal : undefined);
    const theJob = job();
    platform.command({ type: "job.upsert", job: theJob });
    const backupRunId = randomUUID();
    platform.command({ type: "backup.run", backupRunId, backupJobId: theJob.backupJobId, backupMode: "Full" });
    await platform.waitFor(forRun(backupRunId, "backup.completed"), "completed");
    return { store, startedId: platform.ofType("backup.started")[0].id! };
  }

  it("drops a report the platform keeps refusing after five refusals, keeps the others", async () => {
    const { store, startedId } = await runWithStartRefused("Unknown backup job for this agent.");
    for (let connection = 2; connection <= 5; connection++) {
      platform.dropConnection();
      await platform.waitFor((frames) => frames.filter((f) => f.id === startedId).length === connection, `resend ${connection}`);
    }
    await until(() => store.pendingMessages().length === 0);
    expect(store.pendingMessages()).toEqual([]);
    platform.dropConnection();
    await platform.waitFor((frames) => frames.filter((f) => f.type === "hello").length === 6, "sixth hello");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(platform.frames.filter((f) => f.id === startedId)).toHaveLength(5);
  });

  it("sends a report refused as over budget again on the same connection after a pause, until it is taken", async () => {
    let refusals = 0;
    const { store, startedId } = await runWithStartRefused("Over budget: more than 10 frames a second; send it again later.");
    platform.refuse = (frame) => (frame.type === "backup.started" && ++refusals < 3 ? "Over budget: more than 10 frames a second; send it again later." : undefined);
    // Refused at the run, then twice more (after 1 s and 2 s pauses), then taken: all on one connection.
    await platform.waitFor((frames) => frames.filter((f) => f.id === startedId).length === 4, "resend 3");
    await until(() => store.pendingMessages().length === 0);
    expect(store.pendingMessages()).toEqual([]);
    expect(platform.connections).toBe(1);
  });

  it("drains a backlog larger than the budget's burst at the platform's rate, with nothing refused", { timeout: 30_000 }, async () => {
    const stateDir = await enroll();
    // A long outage's backlog: more reports than AGENT_BUDGET's burst, queued before the agent connects.
    const backlog = AGENT_BUDGET.frameBurst + 30;
    const offline = await AgentStore.open(stateDir);
    for (let i = 0; i < backlog; i++) {
      const progress = { type: "backup.progress", id: randomUUID(), backupRunId: randomUUID(), bytesDone: i };
      offline.enqueue(progress);
    }
    offline.close();
    // The platform's budget, as its AgentSession keeps it: a burst, then a steady refill.
    let tokens: number = AGENT_BUDGET.frameBurst;
    let refilledAt = Date.now();
    let refused = 0;
    platform.refuse = () => {
      tokens = Math.min(AGENT_BUDGET.frameBurst, tokens + ((Date.now() - refilledAt) * AGENT_BUDGET.framesPerSecond) / 1000);
      refilledAt = Date.now();
      if (tokens < 1) return `Over budget: refused ${++refused} so far.`;
      tokens -= 1;
      return undefined;
    };
    const { store } = await startAgent(stateDir);
    await until(() => store.pendingMessages().length === 0, 25_000);
    expect(store.pendingMessages()).toEqual([]);
    expect(platform.ofType("backup.progress")).toHaveLength(backlog);
    expect(refused).toBe(0);
    expect(platform.connections).toBe(1);
  });

  it("reports a run it was killed in the middle of as failed after a restart", async () => {
    const stateDir = await enroll();
    const store = await AgentStore.open(stateDir);
    const backupRunId = randomUUID();
    store.beginRun(backupRunId, randomUUID(), new Date());
    store.close();
    await startAgent(stateDir);
    await platform.waitFor(forRun(backupRunId, "backup.failed"), "failed");
    expect(platform.frames.find((f) => f.type === "backup.failed")!.error).toBe("The agent stopped during this run; it was not completed.");
  });

  it("fails a Differential run on SQLite with a clear error and writes nothing", async () => {
    const stateDir = await enroll();
    await startAgent(stateDir);
    await platform.waitFor((frames) => frames.some((f) => f.type === "inventory"), "inventory");
    const theJob = job();
    platform.command({ type: "job.upsert", job: theJob });
    const backupRunId = randomUUID();
    platform.command({ type: "backup.run", backupRunId, backupJobId: theJob.backupJobId, backupMode: "Differential" });
    await platform.waitFor(forRun(backupRunId, "backup.failed"), "failed");
    expect(platform.frames.find((f) => f.type === "backup.failed")!.error).toBe(
      'SQLite engine "files" cannot make Differential backups here (it can: Full).',
    );
    expect(existsSync(join(dir, "backups"))).toBe(false);
  });

  it("runs scheduled backups from job.upsert, stops after job.delete", async () => {
    const stateDir = await enroll();
    await startAgent(stateDir);
    await platform.waitFor((frames) => frames.some((f) => f.type === "inventory"), "inventory");
    // croner accepts a seconds field: every second keeps the test short.
    const theJob = job({ schedules: [{ backupMode: "Full", cronExpression: "* * * * * *" }] });
    platform.command({ type: "job.upsert", job: theJob });
    await platform.waitFor((frames) => frames.filter((f) => f.type === "backup.completed").length >= 1, "scheduled run");
    expect(platform.ofType("backup.started")[0]).toMatchObject({ trigger: "Schedule", backupMode: "Full", backupJobId: theJob.backupJobId });
    const deleteId = platform.command({ type: "job.delete", backupJobId: theJob.backupJobId });
    await platform.waitFor((frames) => frames.some((f) => f.type === "ack" && f.id === deleteId), "delete ack");
    await new Promise((resolve) => setTimeout(resolve, 1500)); // let a run in flight finish
    const count = platform.ofType("backup.started").length;
    await new Promise((resolve) => setTimeout(resolve, 2200));
    expect(platform.ofType("backup.started")).toHaveLength(count);
  });

  it("on agent.revoked deletes its state and exits with a message", async () => {
    const stateDir = await enroll();
    const { agent } = await startAgent(stateDir);
    await platform.waitFor((frames) => frames.some((f) => f.type === "inventory"), "inventory");
    platform.command({ type: "agent.revoked" });
    const exit = await agent.exited;
    expect(exit).toEqual({ reason: "revoked", message: expect.stringContaining("This agent was deleted on the platform") });
    expect(await readdir(stateDir)).toEqual([]);
  });

  it("deleted while it was offline: the connect's 401 agent_revoked makes it delete its state too", async () => {
    const stateDir = await enroll();
    const { agent } = await startAgent(stateDir);
    await platform.waitFor((frames) => frames.some((f) => f.type === "inventory"), "inventory");
    platform.revoked = true;
    platform.dropConnection();
    const exit = await agent.exited;
    expect(exit).toEqual({ reason: "revoked", message: expect.stringContaining("This agent was deleted on the platform") });
    expect(await readdir(stateDir)).toEqual([]);
  });

  it("stops with a clear reason when the platform refuses its token", async () => {
    const stateDir = await enroll();
    const identity = JSON.parse(await readFile(join(stateDir, "identity.json"), "utf8"));
    await writeFile(join(stateDir, "identity.json"), JSON.stringify({ ...identity, agentToken: "ds_agent_revoked" }));
    const { agent } = await startAgent(stateDir);
    expect(await agent.exited).toEqual({ reason: "token-refused", message: expect.stringContaining("refuses this agent's token") });
  });

  it("runs restores one at a time on their own queue: a backup runs while a restore is still going", async () => {
    const stateDir = await enroll();
    // An engine whose restores wait for the test: it shows what runs while a restore is in progress.
    const loads: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gated: Engine = {
      engineKey: "gated",
      dbmsType: "Sqlite",
      dumpExtension: "sqlite",
      version: async () => "1",
      listDatabases: async () => [],
      capabilities: async () => ({ backupModes: ["Full"], restore: true }),
      dump: async () => Promise.reject(new Error("not used")),
      restoreTarget: () => ({
        exists: async () => false,
        drop: async () => {},
        load: async (database) => {
          loads.push(database);
          await gate;
        },
        count: async () => ({ tables: 1, rows: 2 }),
      }),
    };
    await startAgent(stateDir, undefined, [gated]);
    await platform.waitFor((frames) => frames.some((f) => f.type === "inventory"), "inventory");
    const theJob = job();
    platform.command({ type: "job.upsert", job: theJob });
    const first = randomUUID();
    platform.command({ type: "backup.run", backupRunId: first, backupJobId: theJob.backupJobId, backupMode: "Full" });
    await platform.waitFor(forRun(first, "backup.completed"), "first backup");
    const file = (platform.frames.find((f) => f.type === "backup.completed")!.files as { fileName: string; checksum: string }[])[0];
    const restore = (databaseName: string) => ({
      type: "restore.run" as const,
      restoreId: randomUUID(),
      files: [{ destination: theJob.destinations[0], fileName: file.fileName, checksum: file.checksum }],
      engineKey: "gated",
      encryption: { passphrase: null },
      target: { databaseName, overwrite: false },
    });
    const [a, b] = [restore("a"), restore("b")];
    platform.command(a);
    platform.command(b);
    await until(() => loads.length > 0);
    expect(loads).toEqual(["a"]);

    // File names carry the second: the next backup must not start within the first one's second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = randomUUID();
    platform.command({ type: "backup.run", backupRunId: second, backupJobId: theJob.backupJobId, backupMode: "Full" });
    await platform.waitFor((frames) => forRun(second, "backup.completed")(frames) || forRun(second, "backup.failed")(frames), "a backup while a restore runs");
    expect(platform.frames.find((f) => f.type === "backup.failed")?.error).toBeUndefined();
    expect(platform.frames.filter((f) => f.type === "restore.started").map((f) => f.restoreId)).toEqual([a.restoreId]);

    release();
    await platform.waitFor((frames) => frames.filter((f) => f.type === "restore.completed").length === 2, "both restores");
    const order = platform.frames.filter((f) => f.type.startsWith("restore.")).map((f) => `${f.type} ${f.restoreId === a.restoreId ? "a" : "b"}`);
    expect(order).toEqual(["restore.started a", "restore.completed a", "restore.started b", "restore.completed b"]);
    expect(platform.frames.find((f) => f.type === "restore.completed")).toMatchObject({ tables: 1, rows: 2 });
  });
});
