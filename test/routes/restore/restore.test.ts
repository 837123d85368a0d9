import { and, eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { backupFiles, backupRuns, engines, events, logMessages, restores, verifications, webhookDeliveries } from "../../../src/db/schema";
import { clock } from "../../../src/lib/clock";
import { queueScheduledVerifications } from "../../../src/services/restore";
import { failStaleRestores } from "../../../src/services/restore-report";
import { api, createSubscriber, db } from "../../helpers";
import { AgentSocket, createAgent, createDestination, createJob } from "../../support/backup";

const CHECKSUM = `sha256:${"ab".repeat(32)}`;
const PASSPHRASE = "a very long passphrase";

/** A subscriber with an online agent whose engine can restore, an encrypted job and one backup file of it. */
async function backupOnAgent(opts: { canRestore?: boolean; online?: boolean; tables?: number | null; plan?: "Professional" } = {}) {
  const user = await createSubscriber({ plan: opts.plan });
  const agent = await createAgent(user.subscriberId, { online: opts.online ?? true, databases: ["Sales"] });
  await db()
    .update(engines)
    .set({ canRestore: opts.canRestore ?? true })
    .where(eq(engines.agentId, agent.agentId));
  const destinationId = await createDestination(user.token, { agentId: agent.agentId });
  const backupJobId = await createJob(user.token, {
    agentId: agent.agentId,
    databaseIds: agent.databaseIds,
    destinationIds: [destinationId],
    encryption: { enabled: true, passphrase: PASSPHRASE },
  });
  const backupRunId = crypto.randomUUID();
  const backupFileId = crypto.randomUUID();
  const now = clock.now();
  await db().batch([
    db().insert(backupRuns).values({ id: backupRunId, subscriberId: user.subscriberId, backupJobId, agentId: agent.agentId, backupMode: "Full", trigger: "Schedule", status: "Success", createdAt: now }),
    db()
      .insert(backupFiles)
      .values({
        id: backupFileId,
        subscriberId: user.subscriberId,
        backupJobId,
        backupRunId,
        databaseId: agent.databaseIds[0],
        destinationId,
        fileName: "Sales_Full_20261129.dump.gz.enc",
        fileSize: 4096,
        checksum: CHECKSUM,
        tableCount: opts.tables === undefined ? 3 : opts.tables,
        rowCount: opts.tables === undefined ? 120 : opts.tables,
        dateCreated: now,
      }),
  ]);
  return { ...user, ...agent, destinationId, backupJobId, backupFileId };
}

const restoreOf = (token: string, fileId: string, json: Record<string, unknown>) => api(`/api/backupfile/${fileId}/restore`, { token, json });

async function eventTypes(subscriberId: string) {
  return (await db().select({ type: events.type, data: events.data }).from(events).where(eq(events.subscriberId, subscriberId))).filter((e) => e.type.startsWith("restore") || e.type.startsWith("verify"));
}

describe("POST /api/backupfile/{id}/restore", () => {
  it("queues a Queued restore and a restore.run with the file, its destination, the target and the job's passphrase", async () => {
    const s = await backupOnAgent();
    const res = await restoreOf(s.token, s.backupFileId, { targetDatabaseName: "sales_restored" });
    expect(res.status).toBe(200);
    const { restoreId, message } = await res.json<{ restoreId: string; message: string }>();
    expect(message).toBe("Restore queued.");

    const socket = await AgentSocket.connect(s.agentToken);
    const command = await socket.command("restore.run");
    expect(command).toEqual({
      type: "restore.run",
      restoreId,
      files: [
        {
          destination: { destinationId: s.destinationId, name: "Local disk", type: "LocalStorage", settings: { path: "/var/backups" }, credentialReferenceId: null },
          fileName: "Sales_Full_20261129.dump.gz.enc",
          checksum: CHECKSUM,
        },
      ],
      engineKey: "mssql-default",
      encryption: { passphrase: PASSPHRASE },
      target: { databaseName: "sales_restored", overwrite: false },
    });
    socket.close();

    const got = await api(`/api/restore/${restoreId}`, { token: s.token });
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({
      restoreId,
      backupFileId: s.backupFileId,
      agentId: s.agentId,
      targetDatabaseName: "sales_restored",
      status: "Queued",
      bytesDone: 0,
      tables: null,
      rows: null,
      startedUtc: null,
      finishedUtc: null,
      error: null,
    });
  });

  it("refuses bad input with 400 and stores nothing", async () => {
    const s = await backupOnAgent();
    for (const body of [{}, { targetDatabaseName: "" }, { targetDatabaseName: "drop table; --" }, { targetDatabaseName: "ok", overwrite: "yes" }]) {
      const res = await restoreOf(s.token, s.backupFileId, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json<{ error: string }>()).error).toMatch(/targetDatabaseName|overwrite/);
    }
    const otherUser = await createSubscriber();
    const foreignAgent = await createAgent(otherUser.subscriberId, { online: true });
    const foreign = await restoreOf(s.token, s.backupFileId, { targetDatabaseName: "x", agentId: foreignAgent.agentId });
    expect(foreign.status).toBe(400);
    expect((await foreign.json<{ error: string }>()).error).toBe("agentId: Agent not found.");
    expect(await db().select().from(restores).where(eq(restores.subscriberId, s.subscriberId))).toEqual([]);
  });

  it("refuses an offline agent and an engine that cannot restore (400, nothing stored)", async () => {
    const offline = await backupOnAgent({ online: false });
    const a = await restoreOf(offline.token, offline.backupFileId, { targetDatabaseName: "x" });
    expect(a.status).toBe(400);
    expect((await a.json<{ error: string }>()).error).toBe("Agent is offline: the restore cannot be queued until it reconnects.");

    const incapable = await backupOnAgent({ canRestore: false });
    const b = await restoreOf(incapable.token, incapable.backupFileId, { targetDatabaseName: "x" });
    expect(b.status).toBe(400);
    expect((await b.json<{ error: string }>()).error).toBe('Engine "mssql-default" cannot restore: its agent does not report the restore capability.');
    for (const s of [offline, incapable]) expect(await db().select().from(restores).where(eq(restores.subscriberId, s.subscriberId))).toEqual([]);
  });

  it("never sends the passphrase to another agent: an encrypted file restored elsewhere is a 400", async () => {
    const s = await backupOnAgent();
    const other = await createAgent(s.subscriberId, { online: true, databases: ["Other"] });
    await db().update(engines).set({ canRestore: true }).where(eq(engines.agentId, other.agentId));
    const res = await restoreOf(s.token, s.backupFileId, { targetDatabaseName: "x", agentId: other.agentId });
    expect(res.status).toBe(400);
    expect((await res.json<{ error: string }>()).error).toMatch(/only the agent of its job can restore it/);
  });

  it("is 401 without a token and 404 for another subscriber's file or restore", async () => {
    const s = await backupOnAgent();
    expect((await api(`/api/backupfile/${s.backupFileId}/restore`, { json: { targetDatabaseName: "x" } })).status).toBe(401);
    expect((await api("/api/restore")).status).toBe(401);
    const other = await createSubscriber();
    const res = await restoreOf(other.token, s.backupFileId, { targetDatabaseName: "x" });
    expect(res.status).toBe(404);
    expect((await res.json<{ error: string }>()).error).toBe("Backup file not found.");
    const { restoreId } = await (await restoreOf(s.token, s.backupFileId, { targetDatabaseName: "x" })).json<{ restoreId: string }>();
    expect((await api(`/api/restore/${restoreId}`, { token: other.token })).status).toBe(404);
    expect(await (await api("/api/restore", { token: other.token })).json()).toEqual([]);
  });
});

describe("restore reports", () => {
  it("restore.started/progress/completed move the restore to Success with counts, once, with an event and a log entry", async () => {
    const s = await backupOnAgent();
    const { restoreId } = await (await restoreOf(s.token, s.backupFileId, { targetDatabaseName: "sales_copy", overwrite: true })).json<{ restoreId: string }>();
    const socket = await AgentSocket.connect(s.agentToken);
    expect((await socket.command("restore.run")).target).toEqual({ databaseName: "sales_copy", overwrite: true });
    expect(await socket.report({ type: "restore.started", restoreId, startedUtc: "2026-11-29T10:00:00Z" })).toMatchObject({ type: "ack" });
    expect(await socket.report({ type: "restore.progress", restoreId, bytesDone: 2048 })).toMatchObject({ type: "ack" });
    const running = await (await api(`/api/restore/${restoreId}`, { token: s.token })).json<{ status: string; bytesDone: number }>();
    expect(running).toMatchObject({ status: "Running", bytesDone: 2048 });
    const completed = { id: crypto.randomUUID(), type: "restore.completed", restoreId, finishedUtc: "2026-11-29T10:01:00Z", tables: 3, rows: 120 };
    expect(await socket.report(completed)).toMatchObject({ type: "ack" });
    expect(await socket.report(completed)).toMatchObject({ type: "ack" });
    // A late failure cannot undo a finished restore.
    expect(await socket.report({ type: "restore.failed", restoreId, finishedUtc: "2026-11-29T10:02:00Z", error: "late" })).toMatchObject({ type: "ack" });
    socket.close();

    const list = await api("/api/restore", { token: s.token });
    expect(list.headers.get("x-total-count")).toBe("1");
    expect(await list.json()).toEqual([
      expect.objectContaining({ restoreId, status: "Success", tables: 3, rows: 120, startedUtc: "2026-11-29T10:00:00Z", finishedUtc: "2026-11-29T10:01:00Z", error: null }),
    ]);
    expect(await eventTypes(s.subscriberId)).toEqual([
      { type: "restore.success", data: { restoreId, backupFileId: s.backupFileId, agentId: s.agentId, targetDatabaseName: "sales_copy", tables: 3, rows: 120 } },
    ]);
    const logs = await db().select().from(logMessages).where(eq(logMessages.subscriberId, s.subscriberId));
    expect(logs.map((l) => l.message)).toContain('Restore into "sales_copy" succeeded: 3 table(s), 120 row(s).');
  });

  it("restore.failed records the error and a restore.failure event; another agent's report is refused", async () => {
    const s = await backupOnAgent();
    const { restoreId } = await (await restoreOf(s.token, s.backupFileId, { targetDatabaseName: "sales_copy" })).json<{ restoreId: string }>();
    const intruder = await createAgent(s.subscriberId, { online: true });
    const intruderSocket = await AgentSocket.connect(intruder.agentToken);
    expect(await intruderSocket.report({ type: "restore.failed", restoreId, finishedUtc: "2026-11-29T10:02:00Z", error: "x" })).toMatchObject({
      type: "error",
      error: "Unknown restore for this agent.",
    });
    intruderSocket.close();
    const socket = await AgentSocket.connect(s.agentToken);
    const error = 'Database "sales_copy" already exists; restore with overwrite: true to replace it.';
    expect(await socket.report({ type: "restore.failed", restoreId, finishedUtc: "2026-11-29T10:02:00Z", error })).toMatchObject({ type: "ack" });
    socket.close();
    expect(await (await api(`/api/restore/${restoreId}`, { token: s.token })).json()).toMatchObject({ status: "Failed", error, tables: null });
    expect((await eventTypes(s.subscriberId)).map((e) => e.type)).toEqual(["restore.failure"]);
  });
});

describe("restore and verify events for webhooks", () => {
  it("a webhook subscribes to restore.* and verify.* and gets a delivery when a restore succeeds", async () => {
    const s = await backupOnAgent({ plan: "Professional" });
    const events = ["restore.success", "restore.failure", "verify.success", "verify.failure"];
    const hook = await api("/api/webhook", { token: s.token, json: { url: "https://hooks.example.com/datasync", events } });
    expect(hook.status).toBe(200);
    const { webhookId, events: subscribed } = await hook.json<{ webhookId: string; events: string[] }>();
    expect(subscribed).toEqual(events);
    const { restoreId } = await (await restoreOf(s.token, s.backupFileId, { targetDatabaseName: "sales_copy" })).json<{ restoreId: string }>();
    const socket = await AgentSocket.connect(s.agentToken);
    await socket.report({ type: "restore.completed", restoreId, finishedUtc: "2026-11-29T10:01:00Z", tables: 1, rows: 2 });
    socket.close();
    const deliveries = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhookId));
    expect(deliveries.map((d) => d.eventType)).toEqual(["restore.success"]);
  });
});

describe("verification drills", () => {
  it("POST /api/backupjob/{id}/verify queues verify.run of the newest file with the counts at backup time; reports fill the list", async () => {
    const s = await backupOnAgent();
    const res = await api(`/api/backupjob/${s.backupJobId}/verify`, { token: s.token, method: "POST" });
    expect(res.status).toBe(200);
    const { verificationId, message } = await res.json<{ verificationId: string; message: string }>();
    expect(message).toBe("Verification queued.");
    const socket = await AgentSocket.connect(s.agentToken);
    const command = await socket.command("verify.run");
    expect(command).toMatchObject({ verificationId, engineKey: "mssql-default", encryption: { passphrase: PASSPHRASE }, expected: { tables: 3, rows: 120 } });
    expect(command.files.map((f) => f.fileName)).toEqual(["Sales_Full_20261129.dump.gz.enc"]);
    await socket.report({ type: "verify.started", verificationId, startedUtc: "2026-11-29T10:00:00Z" });
    expect(await socket.report({ type: "verify.completed", verificationId, finishedUtc: "2026-11-29T10:00:05Z", tables: 3, rows: 120 })).toMatchObject({ type: "ack" });
    socket.close();

    const list = await api(`/api/backupjob/${s.backupJobId}/verifications`, { token: s.token });
    expect(list.status).toBe(200);
    expect(list.headers.get("x-total-count")).toBe("1");
    expect(await list.json()).toEqual([
      {
        verificationId,
        backupFileId: s.backupFileId,
        status: "Success",
        tables: 3,
        rows: 120,
        durationMs: 5000,
        startedUtc: "2026-11-29T10:00:00Z",
        finishedUtc: "2026-11-29T10:00:05Z",
        error: null,
      },
    ]);
    expect((await eventTypes(s.subscriberId)).map((e) => e.type)).toEqual(["verify.success"]);
  });

  it("verify.failed records a verify.failure", async () => {
    const s = await backupOnAgent({ tables: null });
    const { verificationId } = await (await api(`/api/backupjob/${s.backupJobId}/verify`, { token: s.token, method: "POST" })).json<{ verificationId: string }>();
    const socket = await AgentSocket.connect(s.agentToken);
    expect((await socket.command("verify.run")).expected).toBeNull();
    await socket.report({ type: "verify.failed", verificationId, finishedUtc: "2026-11-29T10:00:05Z", error: "Checksum mismatch" });
    socket.close();
    const [row] = await db().select().from(verifications).where(and(eq(verifications.id, verificationId)));
    expect(row).toMatchObject({ status: "Failed", error: "Checksum mismatch" });
    expect((await eventTypes(s.subscriberId)).map((e) => e.type)).toEqual(["verify.failure"]);
  });

  it("is 400 for a job without files or with its agent offline, 401 without a token, 404 for another subscriber's job", async () => {
    const s = await backupOnAgent();
    await db().delete(backupFiles).where(eq(backupFiles.id, s.backupFileId));
    const empty = await api(`/api/backupjob/${s.backupJobId}/verify`, { token: s.token, method: "POST" });
    expect(empty.status).toBe(400);
    expect((await empty.json<{ error: string }>()).error).toBe("Backup job has no backup file to verify yet.");
    const offline = await backupOnAgent({ online: false });
    expect((await api(`/api/backupjob/${offline.backupJobId}/verify`, { token: offline.token, method: "POST" })).status).toBe(400);
    expect((await api(`/api/backupjob/${s.backupJobId}/verify`, { method: "POST" })).status).toBe(401);
    const other = await createSubscriber();
    expect((await api(`/api/backupjob/${s.backupJobId}/verify`, { token: other.token, method: "POST" })).status).toBe(404);
    expect((await api(`/api/backupjob/${s.backupJobId}/verifications`, { token: other.token })).status).toBe(404);
    expect((await api(`/api/backupjob/${s.backupJobId}/verifications?pageSize=0`, { token: s.token })).status).toBe(400);
    expect(await db().select().from(verifications).where(eq(verifications.subscriberId, s.subscriberId))).toEqual([]);
  });
});

describe("scheduled verification drills", () => {
  it("a job carries verification {enabled, cronExpression}; a bad cron is a 400 that changes nothing", async () => {
    const s = await backupOnAgent();
    const bad = await api(`/api/backupjob/${s.backupJobId}`, { token: s.token, method: "PUT", json: { verification: { enabled: true, cronExpression: "every sunday" } } });
    expect(bad.status).toBe(400);
    expect((await bad.json<{ error: string }>()).error).toMatch(/cronExpression/);
    expect((await (await api(`/api/backupjob/${s.backupJobId}`, { token: s.token })).json<{ verification: unknown }>()).verification).toBeNull();
    const ok = await api(`/api/backupjob/${s.backupJobId}`, { token: s.token, method: "PUT", json: { verification: { enabled: true, cronExpression: "0 4 * * 0" } } });
    expect(ok.status).toBe(200);
    expect((await ok.json<{ verification: unknown }>()).verification).toEqual({ enabled: true, cronExpression: "0 4 * * 0" });
  });

  it("the every-minute sweep queues a drill when the cron is due, once, even for an offline agent", async () => {
    const s = await backupOnAgent({ online: false });
    await api(`/api/backupjob/${s.backupJobId}`, { token: s.token, method: "PUT", json: { verification: { enabled: true, cronExpression: "0 4 * * 0" } } });
    const mine = () => db().select().from(verifications).where(eq(verifications.backupJobId, s.backupJobId));
    await queueScheduledVerifications(env, new Date("2026-11-29T03:59:30Z"));
    expect(await mine()).toEqual([]);
    await queueScheduledVerifications(env, new Date("2026-11-29T04:00:20Z"));
    await queueScheduledVerifications(env, new Date("2026-11-29T04:00:50Z"));
    const rows = await mine();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "Queued", backupFileId: s.backupFileId, agentId: s.agentId });
    const socket = await AgentSocket.connect(s.agentToken);
    expect((await socket.command("verify.run")).verificationId).toBe(rows[0].id);
    socket.close();
  });
});

describe("restores and drills never finished", () => {
  it("the sweep fails a restore no agent started within 24 hours, with its event; a recent one waits", async () => {
    const s = await backupOnAgent();
    const { restoreId } = await (await restoreOf(s.token, s.backupFileId, { targetDatabaseName: "sales_copy" })).json<{ restoreId: string }>();
    const { verificationId } = await (await api(`/api/backupjob/${s.backupJobId}/verify`, { token: s.token, method: "POST" })).json<{ verificationId: string }>();
    const created = (await db().select().from(restores).where(eq(restores.id, restoreId)))[0].createdAt.getTime();
    await failStaleRestores(env, new Date(created + 23 * 60 * 60 * 1000));
    expect(await (await api(`/api/restore/${restoreId}`, { token: s.token })).json()).toMatchObject({ status: "Queued" });
    await failStaleRestores(env, new Date(created + 25 * 60 * 60 * 1000));
    expect(await (await api(`/api/restore/${restoreId}`, { token: s.token })).json()).toMatchObject({
      status: "Failed",
      error: "The agent did not start it within 24 hours (offline, or an agent version without restores).",
    });
    const [drill] = await db().select().from(verifications).where(eq(verifications.id, verificationId));
    expect(drill.status).toBe("Failed");
    expect((await eventTypes(s.subscriberId)).map((e) => e.type).sort()).toEqual(["restore.failure", "verify.failure"]);
  });
});
