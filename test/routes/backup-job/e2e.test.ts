import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { events, logMessages } from "../../../src/db/schema";
import { setClock } from "../../../src/lib/clock";
import { api, createSubscriber, db } from "../../helpers";
import { AgentSocket } from "../../support/backup";

/**
 * The whole product over a real socket: an agent enrolls through the API, reports its inventory, is
 * configured by the user through its command queue, runs a triggered backup and reports it; the user
 * then sees the outcome in the history, the backup files and the job.
 */

const PASSPHRASE = "a very long passphrase";
const CHECKSUM = `sha256:${"ab12".repeat(16)}`;
const S3_CREDENTIAL = { $type: "S3Credential", accessKeyId: "AKIAEXAMPLE", secretAccessKey: "wJalrXUtnFEMI", region: "eu-west-2" };

afterEach(() => setClock(null));

async function enrollAgent(token: string) {
  const tokenRes = await api("/api/agent/registration-token", { token, method: "POST" });
  expect(tokenRes.status).toBe(200);
  const { registrationToken } = await tokenRes.json<{ registrationToken: string }>();
  const register = await api("/api/agent/register", {
    json: { registrationToken, hostname: "PROD-SQL-01", displayName: "Production SQL Server", operatingSystem: "Windows Server 2022", version: "1.4.2" },
  });
  expect(register.status).toBe(200);
  const { agentId, agentToken } = await register.json<{ agentId: string; agentToken: string }>();

  const socket = await AgentSocket.connect(agentToken);
  expect(await socket.report({ type: "hello", hostname: "PROD-SQL-01", operatingSystem: "Windows Server 2022", version: "1.4.2" })).toMatchObject({ type: "ack" });
  const inventory = await socket.report({
    type: "inventory",
    engines: [
      {
        engineKey: "MSSQLSERVER",
        dbmsType: "MicrosoftSql",
        version: "16.0.4175.1",
        databases: [{ name: "AdventureWorks" }, { name: "Sales" }],
        capabilities: { backupModes: ["Full", "Differential", "TransactionLog"], restore: true },
      },
    ],
  });
  expect(inventory).toMatchObject({ type: "ack" });
  const dbs = await (await api(`/api/database?agentId=${agentId}`, { token })).json<{ databaseId: string; name: string }[]>();
  expect(dbs.map((d) => d.name).sort()).toEqual(["AdventureWorks", "Sales"]);
  return { agentId, agentToken, socket, databaseIds: dbs.map((d) => d.databaseId) };
}

/** Credential, destination (using it) and an encrypted job, as a user creates them. */
async function configure(token: string, agentId: string, databaseIds: string[]) {
  const credential = await api("/api/credential", { token, json: { name: "S3 Access Key", agentId, credential: S3_CREDENTIAL } });
  expect(credential.status).toBe(200);
  const { credentialReferenceId } = await credential.json<{ credentialReferenceId: string }>();
  const destination = await api("/api/destination", {
    token,
    json: { name: "AWS S3 Production", type: "S3Storage", agentId, settings: { bucket: "acme-backups", region: "eu-west-2" }, credentialReferenceId },
  });
  expect(destination.status).toBe(200);
  const { destinationId } = await destination.json<{ destinationId: string }>();
  const job = await api("/api/backupjob", {
    token,
    json: {
      name: "Nightly Full Backup",
      agentId,
      databaseIds,
      destinationIds: [destinationId],
      schedules: [{ backupMode: "Full", cronExpression: "0 2 * * *" }],
      retentionDays: 30,
      encryption: { enabled: true, passphrase: PASSPHRASE },
    },
  });
  expect(job.status).toBe(200);
  const { backupJobId } = await job.json<{ backupJobId: string }>();
  return { credentialReferenceId, destinationId, backupJobId };
}

async function expectConfigurationReceived(socket: AgentSocket, ids: Awaited<ReturnType<typeof configure>>) {
  const credential = await socket.command("credential.upsert");
  expect(credential).toEqual({ type: "credential.upsert", credentialReferenceId: ids.credentialReferenceId, name: "S3 Access Key", credential: S3_CREDENTIAL });
  const { job } = await socket.command("job.upsert");
  expect(job).toMatchObject({
    backupJobId: ids.backupJobId,
    isEnabled: true,
    encryption: { enabled: true, algorithm: "AES-256", passphrase: PASSPHRASE },
    destinations: [{ destinationId: ids.destinationId, type: "S3Storage", credentialReferenceId: ids.credentialReferenceId }],
  });
  expect(job.databases).toHaveLength(2);
  // Commands arrive in the order they were queued.
  const order = socket.commands().map((c) => c.type);
  expect(order.indexOf("credential.upsert")).toBeLessThan(order.indexOf("job.upsert"));
}

async function eventsOf(subscriberId: string, type: "backup.success" | "backup.failure") {
  const rows = await db().select().from(events).where(and(eq(events.subscriberId, subscriberId), eq(events.type, type)));
  return rows.map((r) => r.data);
}

describe("backups end to end over a real agent socket", () => {
  it("configures an online agent, runs a triggered backup and shows its success everywhere", async () => {
    setClock(() => Date.parse("2026-11-27T02:00:00Z"));
    const { token, subscriberId } = await createSubscriber();
    const agent = await enrollAgent(token);
    const ids = await configure(token, agent.agentId, agent.databaseIds);
    await expectConfigurationReceived(agent.socket, ids);

    const trigger = await api(`/api/backupjob/${ids.backupJobId}/run`, { token, json: { backupMode: "Full" } });
    expect(trigger.status).toBe(200);
    const { backupRunId } = await trigger.json<{ backupRunId: string }>();
    expect(await agent.socket.command("backup.run")).toEqual({ type: "backup.run", backupRunId, backupJobId: ids.backupJobId, backupMode: "Full" });

    const started = await agent.socket.report({
      type: "backup.started",
      backupRunId,
      backupJobId: ids.backupJobId,
      backupMode: "Full",
      trigger: "Manual",
      startedUtc: "2026-11-27T02:00:05Z",
    });
    expect(started).toMatchObject({ type: "ack" });
    expect(await (await api(`/api/backupjob/${ids.backupJobId}/history`, { token })).json()).toMatchObject([{ backupRunId, status: "Running", startedUtc: "2026-11-27T02:00:05Z" }]);
    expect(await agent.socket.report({ type: "backup.progress", backupRunId, bytesDone: 1024 })).toMatchObject({ type: "ack" });
    expect(await (await api(`/api/backupjob/${ids.backupJobId}/history`, { token })).json()).toMatchObject([{ backupRunId, status: "Running", bytesDone: 1024 }]);

    const files = agent.databaseIds.map((databaseId, i) => ({
      databaseId,
      destinationId: ids.destinationId,
      fileName: `db${i}_Full_20261127_020000.bak.enc`,
      fileSize: 1_073_741_824 + i,
      checksum: CHECKSUM,
    }));
    const completed = await agent.socket.report({ type: "backup.completed", backupRunId, finishedUtc: "2026-11-27T02:01:35Z", files });
    expect(completed).toMatchObject({ type: "ack" });

    const history = await api(`/api/backupjob/${ids.backupJobId}/history`, { token });
    expect(history.headers.get("x-total-count")).toBe("1");
    expect(await history.json()).toEqual([
      {
        backupRunId,
        backupMode: "Full",
        trigger: "Manual",
        status: "Success",
        startedUtc: "2026-11-27T02:00:05Z",
        finishedUtc: "2026-11-27T02:01:35Z",
        durationMs: 90_000,
        totalSize: 2 * 1_073_741_824 + 1,
        bytesDone: 2 * 1_073_741_824 + 1,
        error: null,
      },
    ]);

    const fileList = await api("/api/backupfile", { token });
    expect(fileList.status).toBe(200);
    expect(fileList.headers.get("x-total-count")).toBe("2");
    const listed = await fileList.json<Record<string, unknown>[]>();
    expect(listed.map((f) => f.fileName).sort()).toEqual(files.map((f) => f.fileName).sort());
    expect(listed[0]).toEqual({
      backupFileId: expect.any(String),
      backupJobId: ids.backupJobId,
      fileName: expect.any(String),
      fileSize: expect.any(Number),
      checksum: CHECKSUM,
      dateCreated: "2026-11-27T02:01:35Z",
      backupMode: "Full",
      baseBackupFileId: null,
      status: "Available",
      deletedUtc: null,
    });
    const one = await api(`/api/backupfile/${listed[0].backupFileId as string}`, { token });
    expect(await one.json()).toMatchObject({ ...listed[0], backupRunId, destinationId: ids.destinationId });

    expect(await (await api("/api/backupjob", { token })).json()).toMatchObject([
      { backupJobId: ids.backupJobId, lastStatus: "Success", lastRunUtc: "2026-11-27T02:00:05Z" },
    ]);
    const [success] = await eventsOf(subscriberId, "backup.success");
    expect(success).toMatchObject({ backupJobId: ids.backupJobId, backupRunId, name: "Nightly Full Backup", backupMode: "Full", durationMs: 90_000, totalSize: 2 * 1_073_741_824 + 1 });
    expect((success.files as unknown[]).length).toBe(2);
    const logs = await db().select().from(logMessages).where(eq(logMessages.backupJobId, ids.backupJobId));
    expect(logs.map((l) => l.message)).toContainEqual(expect.stringContaining("succeeded"));
    agent.socket.close();
  });

  it("queues the configuration for an offline agent and delivers it in order when it connects", async () => {
    const { token } = await createSubscriber();
    const agent = await enrollAgent(token);
    agent.socket.close();
    // The agent is offline (its socket is closed) while the user configures it.
    await expect.poll(async () => (await (await api(`/api/agent/${agent.agentId}`, { token })).json<{ isOnline: boolean }>()).isOnline).toBe(false);
    const ids = await configure(token, agent.agentId, agent.databaseIds);
    const refused = await api(`/api/backupjob/${ids.backupJobId}/run`, { token, method: "POST" });
    expect(refused.status).toBe(400);

    const socket = await AgentSocket.connect(agent.agentToken);
    await expectConfigurationReceived(socket, ids);
    const trigger = await api(`/api/backupjob/${ids.backupJobId}/run`, { token, method: "POST" });
    expect(trigger.status).toBe(200);
    const { backupRunId } = await trigger.json<{ backupRunId: string }>();
    expect((await socket.command("backup.run")).backupRunId).toBe(backupRunId);
    socket.close();
  });

  it("records a failed backup with its error, the job's last status and a backup.failure event", async () => {
    const { token, subscriberId } = await createSubscriber();
    const agent = await enrollAgent(token);
    const ids = await configure(token, agent.agentId, agent.databaseIds);
    const { backupRunId } = await (await api(`/api/backupjob/${ids.backupJobId}/run`, { token, json: { backupMode: "Differential" } })).json<{ backupRunId: string }>();
    await agent.socket.command("backup.run");
    await agent.socket.report({ type: "backup.started", backupRunId, backupJobId: ids.backupJobId, backupMode: "Differential", trigger: "Manual", startedUtc: "2026-11-27T03:00:00Z" });
    await agent.socket.report({ type: "backup.progress", backupRunId, bytesDone: 4096 });
    const failed = await agent.socket.report({ type: "backup.failed", backupRunId, finishedUtc: "2026-11-27T03:00:12Z", error: "S3 PutObject: AccessDenied" });
    expect(failed).toMatchObject({ type: "ack" });

    expect(await (await api(`/api/backupjob/${ids.backupJobId}/history`, { token })).json()).toEqual([
      {
        backupRunId,
        backupMode: "Differential",
        trigger: "Manual",
        status: "Failed",
        startedUtc: "2026-11-27T03:00:00Z",
        finishedUtc: "2026-11-27T03:00:12Z",
        durationMs: 12_000,
        totalSize: null,
        bytesDone: 4096, // how far it got
        error: "S3 PutObject: AccessDenied",
      },
    ]);
    expect(await (await api(`/api/backupjob`, { token })).json()).toMatchObject([{ lastStatus: "Failed", lastRunUtc: "2026-11-27T03:00:00Z" }]);
    expect(await eventsOf(subscriberId, "backup.failure")).toEqual([
      { backupJobId: ids.backupJobId, backupRunId, name: "Nightly Full Backup", backupMode: "Differential", error: "S3 PutObject: AccessDenied" },
    ]);
    expect(await (await api("/api/backupfile", { token })).json()).toEqual([]);
    agent.socket.close();
  });

  it("records a chain: a Differential file points at its Full; files the agent removes by retention leave the default list", async () => {
    const { token } = await createSubscriber();
    const agent = await enrollAgent(token);
    const ids = await configure(token, agent.agentId, agent.databaseIds);
    const [databaseId] = agent.databaseIds;
    const file = (fileName: string, extra: Record<string, unknown> = {}) => ({ databaseId, destinationId: ids.destinationId, fileName, fileSize: 10, checksum: CHECKSUM, ...extra });
    const run = async (backupMode: "Full" | "Differential", at: string, files: Record<string, unknown>[]) => {
      const backupRunId = crypto.randomUUID();
      const started = { type: "backup.started", backupRunId, backupJobId: ids.backupJobId, backupMode, trigger: "Schedule", startedUtc: at };
      expect(await agent.socket.report(started)).toMatchObject({ type: "ack" });
      expect(await agent.socket.report({ type: "backup.completed", backupRunId, finishedUtc: at, files })).toMatchObject({ type: "ack" });
    };
    await run("Full", "2026-11-26T02:00:00Z", [file("Sales_Full_1.bak")]);
    // A 1.1 agent names each file's mode and base; a base the platform never recorded stays null.
    await run("Differential", "2026-11-26T08:00:00Z", [
      file("Sales_Diff_1.bak", { backupMode: "Differential", baseFileName: "Sales_Full_1.bak" }),
      file("Sales_Diff_x.bak", { backupMode: "Differential", baseFileName: "Unknown_Full.bak" }),
    ]);
    type File = { backupFileId: string; fileName: string; backupMode: string; baseBackupFileId: string | null; status: string; deletedUtc: string | null };
    const list = async (query = "") => (await (await api(`/api/backupfile${query}`, { token })).json<File[]>()).map((f) => [f.fileName, f.status, f.deletedUtc]);
    const all = await (await api("/api/backupfile", { token })).json<File[]>();
    const full = all.find((f) => f.fileName === "Sales_Full_1.bak")!;
    expect(all.map((f) => [f.fileName, f.backupMode, f.baseBackupFileId])).toEqual(
      expect.arrayContaining([
        ["Sales_Full_1.bak", "Full", null],
        ["Sales_Diff_1.bak", "Differential", full.backupFileId],
        ["Sales_Diff_x.bak", "Differential", null],
      ]),
    );

    setClock(() => Date.parse("2026-11-28T03:00:00Z"));
    const removed = { type: "files.deleted", files: [{ destinationId: ids.destinationId, fileName: "Sales_Diff_x.bak" }, { destinationId: ids.destinationId, fileName: "never-recorded.bak" }], reason: "retention" };
    expect(await agent.socket.report(removed)).toMatchObject({ type: "ack" });
    setClock(() => Date.parse("2026-11-29T03:00:00Z"));
    expect(await agent.socket.report(removed)).toMatchObject({ type: "ack" }); // a new id for the same files changes nothing
    expect(await list()).toEqual([["Sales_Diff_1.bak", "Available", null], ["Sales_Full_1.bak", "Available", null]]);
    expect(await list("?status=Deleted")).toEqual([["Sales_Diff_x.bak", "Deleted", "2026-11-28T03:00:00Z"]]);
    expect(await list(`?status=all&backupJobId=${ids.backupJobId}`)).toHaveLength(3);
    const deleted = await (await api(`/api/backupfile/${all.find((f) => f.fileName === "Sales_Diff_x.bak")!.backupFileId}`, { token })).json();
    expect(deleted).toMatchObject({ status: "Deleted", deletedUtc: "2026-11-28T03:00:00Z" });
    agent.socket.close();
  });
});
