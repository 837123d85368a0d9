import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { type BackupMode, backupJobs, backupRuns, destinations, events, logMessages, webhookDeliveries } from "../../src/db/schema";
import { setClock } from "../../src/lib/clock";
import { SWEEP_PAGE_SIZE, detectMissedSchedules, dueJobsQuery } from "../../src/services/anomaly";
import { applyBackupReport } from "../../src/services/backup-report";
import { createJob, updateJob } from "../../src/services/backup-job";
import { CRON, scheduled } from "../../src/scheduled";
import { createAgent } from "../support/backup";
import { createSubscriber, db, queryPlan } from "../helpers";
import { subscriberWithWebhook } from "../support/webhook";

const CHECKSUM = `sha256:${"ab".repeat(32)}`;
const HOUR = 3600_000;
const MINUTE = 60_000;

afterEach(() => setClock(null));

/** A job on an agent with one database and destination, written straight to D1 (only its history matters here). */
async function jobWithAgent(subscriberId: string, opts: { schedules?: { backupMode: BackupMode; cronExpression: string }[]; at?: Date; isEnabled?: boolean } = {}) {
  const at = opts.at ?? new Date("2026-11-20T00:00:00Z");
  const { agentId, databaseIds } = await createAgent(subscriberId, { databases: ["Sales"] });
  const destinationId = crypto.randomUUID();
  const backupJobId = crypto.randomUUID();
  await db().batch([
    db()
      .insert(destinations)
      .values({ id: destinationId, subscriberId, agentId, name: "Disk", type: "LocalStorage", settings: { path: "/b" }, createdAt: at, updatedAt: at }),
    db()
      .insert(backupJobs)
      .values({
        id: backupJobId,
        subscriberId,
        agentId,
        name: "Nightly",
        isEnabled: opts.isEnabled ?? true,
        schedules: opts.schedules ?? [{ backupMode: "Full", cronExpression: "0 2 * * *" }],
        retentionDays: 30,
        encryptionEnabled: false,
        createdAt: at,
        updatedAt: at,
      }),
  ]);
  return { agentId, backupJobId, databaseId: databaseIds[0], destinationId };
}

type Job = Awaited<ReturnType<typeof jobWithAgent>>;

/** Past successful runs of the job, oldest first. */
async function history(subscriberId: string, job: Job, runs: { totalSize: number; durationMs: number; backupMode?: BackupMode }[]) {
  const start = new Date("2026-11-01T02:00:00Z").getTime();
  // One row per statement: D1 allows 100 bound parameters per statement.
  const rows = runs.map((r, i) => ({
    id: crypto.randomUUID(),
    subscriberId,
    backupJobId: job.backupJobId,
    agentId: job.agentId,
    backupMode: r.backupMode ?? "Full",
    trigger: "Schedule" as const,
    status: "Success" as const,
    startedUtc: new Date(start + i * 24 * HOUR),
    finishedUtc: new Date(start + i * 24 * HOUR + r.durationMs),
    durationMs: r.durationMs,
    totalSize: r.totalSize,
    createdAt: new Date(start + i * 24 * HOUR),
  }));
  const [first, ...rest] = rows.map((row) => db().insert(backupRuns).values(row));
  await db().batch([first, ...rest]);
}

/** An agent reporting one run from start to completion through the real report path. */
async function completeRun(subscriberId: string, job: Job, run: { totalSize: number; durationMs: number; backupMode?: BackupMode }) {
  const ctx = { db: db(), env, subscriberId, now: new Date("2026-11-27T03:00:00Z") };
  const backupRunId = crypto.randomUUID();
  const startedUtc = new Date("2026-11-27T02:00:00Z");
  const completed = {
    type: "backup.completed" as const,
    id: crypto.randomUUID(),
    backupRunId,
    finishedUtc: new Date(startedUtc.getTime() + run.durationMs).toISOString(),
    files: [{ databaseId: job.databaseId, destinationId: job.destinationId, fileName: "Sales.bak", fileSize: run.totalSize, checksum: CHECKSUM }],
  };
  const backupMode = run.backupMode ?? "Full";
  const started = { type: "backup.started" as const, id: crypto.randomUUID(), backupRunId, backupJobId: job.backupJobId, backupMode, trigger: "Schedule" as const, startedUtc: startedUtc.toISOString() };
  expect(await applyBackupReport(ctx, job.agentId, started)).toEqual({ ok: true });
  expect(await applyBackupReport(ctx, job.agentId, completed)).toEqual({ ok: true });
  // The agent resends the completion (it never saw the ack): nothing is reported twice.
  expect(await applyBackupReport(ctx, job.agentId, { ...completed, id: crypto.randomUUID() })).toEqual({ ok: true });
  return backupRunId;
}

async function anomalies(subscriberId: string) {
  const rows = await db().select().from(events).where(and(eq(events.subscriberId, subscriberId), eq(events.type, "backup.anomaly")));
  return rows.map((r) => r.data);
}

async function warnings(subscriberId: string) {
  return db()
    .select()
    .from(logMessages)
    .where(and(eq(logMessages.subscriberId, subscriberId), eq(logMessages.severity, "Warning")));
}

const STEADY = [1000, 1100, 900, 1000, 1050].map((totalSize) => ({ totalSize, durationMs: 60_000 }));

describe("size and duration anomalies on completion", () => {
  it("a run under 50 % of the median size fires one size anomaly, with its log entry and webhook delivery", async () => {
    const { subscriberId, webhook } = await subscriberWithWebhook({ events: ["backup.anomaly"] });
    const job = await jobWithAgent(subscriberId);
    await history(subscriberId, job, STEADY);
    const backupRunId = await completeRun(subscriberId, job, { totalSize: 400, durationMs: 60_000 });

    expect(await anomalies(subscriberId)).toEqual([
      expect.objectContaining({ backupJobId: job.backupJobId, backupRunId, kind: "size", expected: 1000, actual: 400 }),
    ]);
    const log = await warnings(subscriberId);
    expect(log).toHaveLength(1);
    expect(log[0].message).toContain("size anomaly");
    expect(log[0].backupJobId).toBe(job.backupJobId);
    const deliveries = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhook.webhookId));
    expect(deliveries.map((d) => d.eventType)).toEqual(["backup.anomaly"]);
  });

  it("a run over 200 % of the median size fires; 50–200 % does not", async () => {
    const { subscriberId } = await createSubscriber();
    const job = await jobWithAgent(subscriberId);
    await history(subscriberId, job, STEADY);
    await completeRun(subscriberId, job, { totalSize: 1900, durationMs: 60_000 });
    await completeRun(subscriberId, job, { totalSize: 600, durationMs: 60_000 });
    expect(await anomalies(subscriberId)).toEqual([]);
    await completeRun(subscriberId, job, { totalSize: 2500, durationMs: 60_000 });
    expect(await anomalies(subscriberId)).toEqual([expect.objectContaining({ kind: "size", actual: 2500 })]);
  });

  it("a run over 3 × the median duration fires one duration anomaly", async () => {
    const { subscriberId } = await createSubscriber();
    const job = await jobWithAgent(subscriberId);
    await history(subscriberId, job, STEADY);
    await completeRun(subscriberId, job, { totalSize: 1000, durationMs: 180_000 }); // exactly 3 ×: not more
    expect(await anomalies(subscriberId)).toEqual([]);
    await completeRun(subscriberId, job, { totalSize: 1000, durationMs: 181_000 });
    expect(await anomalies(subscriberId)).toEqual([expect.objectContaining({ kind: "duration", expected: 60_000, actual: 181_000 })]);
    expect((await warnings(subscriberId)).map((l) => l.message)).toEqual([expect.stringContaining("duration anomaly")]);
  });

  it("needs 3 earlier successful runs, and uses only the last 10", async () => {
    const { subscriberId } = await createSubscriber();
    const job = await jobWithAgent(subscriberId);
    await history(subscriberId, job, STEADY.slice(0, 2));
    await completeRun(subscriberId, job, { totalSize: 10, durationMs: 1_000_000 });
    expect(await anomalies(subscriberId)).toEqual([]);

    const other = await jobWithAgent(subscriberId);
    // 10 old tiny runs, then 10 recent big ones: only the recent ones count.
    await history(subscriberId, other, [...Array(10).fill({ totalSize: 10, durationMs: 1000 }), ...Array(10).fill({ totalSize: 5000, durationMs: 60_000 })]);
    await completeRun(subscriberId, other, { totalSize: 5000, durationMs: 60_000 });
    expect(await anomalies(subscriberId)).toEqual([]);
  });

  it("compares a run only with runs of its own backup mode", async () => {
    const { subscriberId } = await createSubscriber();
    const job = await jobWithAgent(subscriberId);
    await history(subscriberId, job, [...STEADY, ...STEADY.map((r) => ({ ...r, totalSize: r.totalSize / 10, backupMode: "Differential" as const }))]);
    await completeRun(subscriberId, job, { totalSize: 95, durationMs: 60_000, backupMode: "Differential" });
    expect(await anomalies(subscriberId)).toEqual([]);
    await completeRun(subscriberId, job, { totalSize: 95, durationMs: 60_000, backupMode: "Full" });
    expect(await anomalies(subscriberId)).toEqual([expect.objectContaining({ kind: "size", backupMode: "Full" })]);
  });
});

describe("missed scheduled runs", () => {
  const created = new Date("2026-11-27T09:50:00Z");
  const at = (iso: string) => new Date(iso);

  it("reports a scheduled time with no run 30 minutes later, once, however many sweeps see it", async () => {
    const { subscriberId } = await subscriberWithWebhook({ events: ["backup.anomaly"] });
    const job = await jobWithAgent(subscriberId, { schedules: [{ backupMode: "Full", cronExpression: "0 * * * *" }], at: created });

    expect(await detectMissedSchedules(env, at("2026-11-27T10:29:59Z"))).toBe(0);
    expect(await detectMissedSchedules(env, at("2026-11-27T10:30:00Z"))).toBe(1);
    for (const sweep of ["2026-11-27T10:31:00Z", "2026-11-27T10:45:00Z", "2026-11-27T11:29:00Z"]) {
      expect(await detectMissedSchedules(env, at(sweep))).toBe(0);
    }
    expect(await anomalies(subscriberId)).toEqual([
      expect.objectContaining({ backupJobId: job.backupJobId, kind: "missing", expected: "2026-11-27T10:00:00Z", actual: null, scheduledFor: "2026-11-27T10:00:00Z" }),
    ]);
    const log = await warnings(subscriberId);
    expect(log.map((l) => l.message)).toEqual([expect.stringContaining("scheduled for 2026-11-27T10:00:00Z did not start")]);
    // The next missed time is a new anomaly.
    expect(await detectMissedSchedules(env, at("2026-11-27T11:30:00Z"))).toBe(1);
    expect(await anomalies(subscriberId)).toHaveLength(2);
  });

  it("a run started in time (even a minute early by the agent's clock) is not missed", async () => {
    const { subscriberId } = await createSubscriber();
    const job = await jobWithAgent(subscriberId, { schedules: [{ backupMode: "Full", cronExpression: "0 * * * *" }], at: created });
    const ctx = { db: db(), env, subscriberId, now: at("2026-11-27T10:00:10Z") };
    for (const startedUtc of ["2026-11-27T09:59:30Z", "2026-11-27T11:20:00Z"]) {
      const started = { type: "backup.started" as const, id: crypto.randomUUID(), backupRunId: crypto.randomUUID(), backupJobId: job.backupJobId, backupMode: "Full" as const, trigger: "Schedule" as const, startedUtc };
      expect(await applyBackupReport({ ...ctx, now: new Date(startedUtc) }, job.agentId, started)).toEqual({ ok: true });
    }
    expect(await detectMissedSchedules(env, at("2026-11-27T11:40:00Z"))).toBe(0);
    expect(await anomalies(subscriberId)).toEqual([]);
  });

  it("ignores disabled jobs and times before the job's last change", async () => {
    const { subscriberId } = await createSubscriber();
    await jobWithAgent(subscriberId, { schedules: [{ backupMode: "Full", cronExpression: "0 * * * *" }], at: created, isEnabled: false });
    await jobWithAgent(subscriberId, { schedules: [{ backupMode: "Full", cronExpression: "*/15 * * * *" }], at: at("2026-11-27T10:20:00Z") });
    // 10:00 and 10:15 precede the second job; 10:30 is not yet 30 minutes old.
    expect(await detectMissedSchedules(env, at("2026-11-27T10:59:00Z"))).toBe(0);
    expect(await anomalies(subscriberId)).toEqual([]);
  });

  it("runs from the Worker's every-minute scheduled handler", async () => {
    const { subscriberId } = await createSubscriber();
    await jobWithAgent(subscriberId, { schedules: [{ backupMode: "Differential", cronExpression: "15 10 * * *" }], at: created });
    setClock(() => at("2026-11-27T10:46:00Z").getTime());
    await scheduled({ cron: CRON.everyMinute, scheduledTime: 0, noRetry() {} } as ScheduledController, env);
    await scheduled({ cron: CRON.everyMinute, scheduledTime: 0, noRetry() {} } as ScheduledController, env);
    expect(await anomalies(subscriberId)).toEqual([expect.objectContaining({ kind: "missing", backupMode: "Differential", expected: "2026-11-27T10:15:00Z" })]);
  });

  it("reads only jobs that are due, through the due index, and moves each past the window it checked", async () => {
    const { subscriberId } = await createSubscriber();
    const hourly = await jobWithAgent(subscriberId, { schedules: [{ backupMode: "Full", cronExpression: "0 * * * *" }], at: created });
    const daily = await jobWithAgent(subscriberId, { schedules: [{ backupMode: "Full", cronExpression: "0 2 * * *" }], at: created });
    const dueAt = async (id: string) => (await db().select({ at: backupJobs.nextDueAt }).from(backupJobs).where(eq(backupJobs.id, id)))[0].at;

    expect(await detectMissedSchedules(env, at("2026-11-27T10:30:00Z"))).toBe(1);
    expect(await dueAt(hourly.backupJobId)).toEqual(at("2026-11-27T11:00:00Z"));
    expect(await dueAt(daily.backupJobId)).toEqual(at("2026-11-28T02:00:00Z"));
    // At 11:00 the window ends at 10:30: neither job is due, so the sweep does not read them.
    const read = (await dueJobsQuery(db(), at("2026-11-27T10:30:00Z"), null)).map((j) => j.id);
    expect(read).not.toContain(hourly.backupJobId);
    expect(read).not.toContain(daily.backupJobId);
    expect(await queryPlan(dueJobsQuery(db(), at("2026-11-27T10:30:00Z"), null))).toContain("backup_jobs_due_idx");
  });

  it("a job saved through the service is due at its first time after the save, and none when disabled", async () => {
    const { subscriberId } = await createSubscriber();
    const { agentId, databaseIds } = await createAgent(subscriberId, { databases: ["Sales"], backupModes: ["Full", "Differential"] });
    const destinationId = crypto.randomUUID();
    await db().insert(destinations).values({ id: destinationId, subscriberId, agentId, name: "Disk", type: "LocalStorage", settings: { path: "/b" }, createdAt: created, updatedAt: created });
    const ctx = { db: db(), env, subscriberId, now: at("2026-11-27T10:20:00Z"), plan: "Ultimate" as const, principal: { kind: "agent" as const, agentId }, waitUntil: () => {} };
    const input = { name: "Hourly", agentId, databaseIds, destinationIds: [destinationId], isEnabled: true, retentionDays: 7, encryption: { enabled: false }, schedules: [{ backupMode: "Full" as const, cronExpression: "0 * * * *" }, { backupMode: "Differential" as const, cronExpression: "45 * * * *" }] };
    const job = await createJob(ctx, input);
    expect(job.nextDueAt).toEqual(at("2026-11-27T10:45:00Z"));
    const disabled = await updateJob({ ...ctx, now: at("2026-11-27T10:50:00Z") }, job.id, { isEnabled: false });
    expect(disabled.job.nextDueAt).toBeNull();
    const enabled = await updateJob({ ...ctx, now: at("2026-11-27T10:50:00Z") }, job.id, { isEnabled: true });
    expect(enabled.job.nextDueAt).toEqual(at("2026-11-27T11:00:00Z"));
    // 10:45 passed while the job was disabled: not missed. (Other tests' jobs share this file's D1.)
    await detectMissedSchedules(env, at("2026-11-27T11:29:00Z"));
    expect(await anomalies(subscriberId)).toEqual([]);
    await detectMissedSchedules(env, at("2026-11-27T11:30:00Z"));
    expect(await anomalies(subscriberId)).toEqual([expect.objectContaining({ backupJobId: job.id, expected: "2026-11-27T11:00:00Z" })]);
  });

  it("pages through more due jobs than one page holds", async () => {
    const { subscriberId } = await createSubscriber();
    // Written without a due time (as before this column existed): due now, checked once, then moved on.
    const rows = Array.from({ length: SWEEP_PAGE_SIZE + 5 }, (_, i) =>
      db()
        .insert(backupJobs)
        .values({ subscriberId, name: `Job ${i}`, isEnabled: true, schedules: [{ backupMode: "Full", cronExpression: "0 3 * * *" }], retentionDays: 7, encryptionEnabled: false, createdAt: created, updatedAt: created }),
    );
    await db().batch(rows as [(typeof rows)[number], ...typeof rows]);
    await detectMissedSchedules(env, at("2026-11-27T10:31:00Z"));
    const due = await db().select({ at: backupJobs.nextDueAt }).from(backupJobs).where(eq(backupJobs.subscriberId, subscriberId));
    expect(due).toHaveLength(SWEEP_PAGE_SIZE + 5);
    expect(new Set(due.map((d) => d.at?.toISOString()))).toEqual(new Set(["2026-11-28T03:00:00.000Z"]));
    expect(await anomalies(subscriberId)).toEqual([]);
  });
});
