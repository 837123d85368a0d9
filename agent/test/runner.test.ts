import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AgentJob } from "../../src/protocol/agent-protocol.ts";
import { fullOnlyCapabilities, type Engine } from "../src/engines/engine.ts";
import { JobRunner } from "../src/runner.ts";
import { AgentStore } from "../src/state.ts";

/** An engine whose dump waits until the test lets it finish. */
class GatedEngine implements Engine {
  readonly engineKey = "gated";
  readonly dbmsType = "Sqlite" as const;
  readonly dumpExtension = "sql";
  private open = false;
  private waiting: (() => void)[] = [];
  async version() {
    return "1";
  }
  async listDatabases() {
    return ["app"];
  }
  readonly capabilities = fullOnlyCapabilities;
  async dump() {
    const gate = this.open ? Promise.resolve() : new Promise<void>((resolve) => this.waiting.push(resolve));
    const stream = Readable.from(
      (async function* () {
        yield Buffer.from("CREATE TABLE t (x int);\n");
        await gate;
        yield Buffer.from("INSERT INTO t VALUES (1);\n");
      })(),
    );
    return { stream, release: async () => {} };
  }
  /** Lets every dump, current and future, run to its end. */
  finish() {
    this.open = true;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

let dir: string;
let store: AgentStore;
let frames: ({ id: string; type: string } & Record<string, unknown>)[];
let logs: { severity: string; message: string }[];
let clock: Date;
let engine: GatedEngine;
let runner: JobRunner;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ds-runner-"));
  store = await AgentStore.open(join(dir, "state"));
  frames = [];
  logs = [];
  clock = new Date("2026-03-26T02:00:00Z");
  engine = new GatedEngine();
  runner = new JobRunner({
    store,
    engines: [engine],
    compression: "gzip",
    now: () => clock,
    send: (frame) => {
      store.enqueue(frame);
      frames.push(frame);
    },
    report: (severity, message) => logs.push({ severity, message }),
    progressIntervalMs: 0,
  });
});

afterEach(async () => {
  engine.finish();
  await runner.idle();
  store.close();
  await rm(dir, { recursive: true, force: true });
});

function saveJob(overrides: Partial<AgentJob> = {}): AgentJob {
  const job: AgentJob = {
    backupJobId: randomUUID(),
    name: "App",
    isEnabled: true,
    schedules: [],
    retentionDays: 7,
    databases: [{ databaseId: randomUUID(), name: "app", dbmsType: "Sqlite", engineKey: "gated" }],
    destinations: [{ destinationId: randomUUID(), name: "Disk", type: "LocalStorage", settings: { path: join(dir, "backups") }, credentialReferenceId: null }],
    encryption: { enabled: false, algorithm: null, passphrase: null },
    ...overrides,
  };
  store.saveJob(job);
  return job;
}

async function runToEnd(job: AgentJob) {
  engine.finish();
  runner.trigger({ backupJobId: job.backupJobId, mode: "Full", trigger: "Schedule" });
  await runner.idle();
}

describe("JobRunner", () => {
  it("runs one run of a job at a time: a tick that finds it running is logged and skipped", async () => {
    const job = saveJob();
    runner.trigger({ backupJobId: job.backupJobId, mode: "Full", trigger: "Schedule" });
    expect(runner.isRunning(job.backupJobId)).toBe(true);
    runner.trigger({ backupJobId: job.backupJobId, mode: "Full", trigger: "Schedule" });
    const queuedRunId = randomUUID();
    runner.trigger({ backupJobId: job.backupJobId, mode: "Full", trigger: "Manual", backupRunId: queuedRunId });
    engine.finish();
    await runner.idle();
    expect(frames.filter((f) => f.type === "backup.started")).toHaveLength(1);
    expect(frames.filter((f) => f.type === "backup.completed")).toHaveLength(1);
    expect(logs.filter((l) => l.severity === "Warning").map((l) => l.message)).toEqual([
      'Backup job "App" is still running; this scheduled Full run was skipped.',
      'Backup job "App" is still running; this manual Full run was skipped.',
    ]);
    // The platform's queued manual run is closed rather than left waiting.
    expect(frames.find((f) => f.type === "backup.failed")).toMatchObject({ backupRunId: queuedRunId, error: "Skipped: a run of this job was already in progress." });
  });

  it("reports progress in bytes written", async () => {
    const job = saveJob();
    await runToEnd(job);
    const progress = frames.filter((f) => f.type === "backup.progress");
    expect(progress.length).toBeGreaterThan(0);
    const completed = frames.find((f) => f.type === "backup.completed") as unknown as { files: { fileSize: number }[] };
    expect(progress.at(-1)).toMatchObject({ backupRunId: frames[0].backupRunId, bytesDone: completed.files[0].fileSize });
  });

  it("keeps the started report and the run row in one transaction, and clears the row when done", async () => {
    const job = saveJob();
    runner.trigger({ backupJobId: job.backupJobId, mode: "Full", trigger: "Schedule" });
    expect(store.runsInProgress()).toEqual([{ backupRunId: frames[0].backupRunId, backupJobId: job.backupJobId }]);
    engine.finish();
    await runner.idle();
    expect(store.runsInProgress()).toEqual([]);
  });

  it("after a success deletes this job's files older than retentionDays, and nothing else", async () => {
    const job = saveJob({ retentionDays: 7 });
    const other = saveJob({ retentionDays: 1, destinations: job.destinations });
    await runToEnd(job); // 2026-03-26
    clock = new Date("2026-03-27T02:00:00Z");
    await runToEnd(other); // another job, same folder
    await writeFile(join(dir, "backups", "handmade.sql.gz"), "not ours");
    clock = new Date("2026-04-01T02:00:00Z");
    await runToEnd(job); // day 6: nothing is old enough yet
    expect((await readdir(join(dir, "backups"))).filter((name) => !name.endsWith(".sha256")).sort()).toEqual([
      "app_Full_20260326_020000.sql.gz",
      "app_Full_20260327_020000.sql.gz",
      "app_Full_20260401_020000.sql.gz",
      "handmade.sql.gz",
    ]);
    clock = new Date("2026-04-03T03:00:00Z");
    await runToEnd(job); // day 8: the first file (and its .sha256) goes, the other job's and the hand-made one stay
    expect((await readdir(join(dir, "backups"))).sort()).toEqual([
      "app_Full_20260327_020000.sql.gz",
      "app_Full_20260327_020000.sql.gz.sha256",
      "app_Full_20260401_020000.sql.gz",
      "app_Full_20260401_020000.sql.gz.sha256",
      "app_Full_20260403_030000.sql.gz",
      "app_Full_20260403_030000.sql.gz.sha256",
      "handmade.sql.gz",
    ]);
    expect(logs.map((l) => l.message)).toContain('Backup job "App": retention removed app_Full_20260326_020000.sql.gz from "Disk".');
    // The removal is reported (protocol 1.1) through the outbox, once, for the one file removed.
    const deleted = frames.filter((f) => f.type === "files.deleted");
    expect(deleted).toEqual([
      { type: "files.deleted", id: expect.any(String), files: [{ destinationId: job.destinations[0].destinationId, fileName: "app_Full_20260326_020000.sql.gz" }], reason: "retention" },
    ]);
    expect(store.isPending(deleted[0].id)).toBe(true);
    frames.length = 0;
    clock = new Date("2026-04-03T04:00:00Z");
    await runToEnd(job); // nothing more is old enough: nothing more reported
    expect(frames.filter((f) => f.type === "files.deleted")).toEqual([]);
  });

  it("fails clearly for an engine missing from agent.json and for a destination without its credential", async () => {
    const job = saveJob({ databases: [{ databaseId: randomUUID(), name: "x", dbmsType: "PostgreSql", engineKey: "pg-main" }] });
    await runToEnd(job);
    expect(frames.find((f) => f.type === "backup.failed")!.error).toBe('Database "x": engine "pg-main" is not configured in this agent\'s agent.json.');
    frames.length = 0;
    const azure = saveJob({ destinations: [{ destinationId: randomUUID(), name: "Blob", type: "AzureBlobStorage", settings: { container: "c" }, credentialReferenceId: null }] });
    await runToEnd(azure);
    expect(frames.find((f) => f.type === "backup.failed")!.error).toBe('Destination "Blob" (AzureBlobStorage) has no credential: give it an AzureBlobCredential or a ConnectionStringCredential.');
    frames.length = 0;
    const gcs = saveJob({ destinations: [{ destinationId: randomUUID(), name: "GCS", type: "GoogleCloudStorage", settings: { bucket: "b" }, credentialReferenceId: null }] });
    await runToEnd(gcs);
    expect(frames.find((f) => f.type === "backup.failed")!.error).toBe(
      'Destination "GCS" (GoogleCloudStorage) has no credential: give it a GoogleCloudCredential (service account key) or an S3Credential holding a Cloud Storage HMAC key.',
    );
  });
});
