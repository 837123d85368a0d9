import { env } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  agentRegistrationTokens,
  alertThrottles,
  backupFiles,
  backupJobs,
  backupRuns,
  browserSessions,
  emailTokens,
  events,
  missedScheduleReports,
  outboxEmails,
  restores,
  revokedAgentTokens,
  verifications,
  webhookDeliveries,
} from "../../src/db/schema";
import { purgeInChunks } from "../../src/db/purge";
import { CRON, scheduled } from "../../src/scheduled";
import { RETENTION_MS } from "../../src/services/housekeeping";
import { createSubscriber, db } from "../helpers";
import { T0, time } from "../support/manual-clock";
import { recordEvent, subscriberWithWebhook } from "../support/webhook";

const DAY = 24 * 3600_000;

/** The daily cron trigger, at the injected clock's time. */
const daily = () => scheduled({ cron: CRON.daily, scheduledTime: time.now, noRetry() {} } as ScheduledController, env);

async function deliveryStatuses(ids: string[]) {
  const rows = await db().select({ id: webhookDeliveries.id, status: webhookDeliveries.status }).from(webhookDeliveries).where(inArray(webhookDeliveries.id, ids));
  return rows.map((r) => r.status).sort();
}

describe("housekeeping purges (daily cron)", () => {
  it("removes delivered and failed webhook deliveries after 30 days; pending ones stay", async () => {
    time.freezeAt(T0);
    const { subscriberId } = await subscriberWithWebhook({ events: ["backup.failure"] });
    const ids = [];
    for (const status of ["delivered", "failed", "pending"] as const) {
      const { deliveries } = await recordEvent(subscriberId, "backup.failure");
      await db().update(webhookDeliveries).set({ status }).where(eq(webhookDeliveries.id, deliveries[0].id));
      ids.push(deliveries[0].id);
    }
    time.now = T0 + RETENTION_MS.finishedDeliveries - 1000;
    await daily();
    expect(await deliveryStatuses(ids)).toEqual(["delivered", "failed", "pending"]);
    time.now = T0 + RETENTION_MS.finishedDeliveries + 1000;
    await daily();
    expect(await deliveryStatuses(ids)).toEqual(["pending"]);
  });

  it("removes events after 90 days, except those a pending delivery still needs", async () => {
    time.freezeAt(T0);
    const { subscriberId } = await subscriberWithWebhook({ events: ["backup.failure"] });
    const delivered = await recordEvent(subscriberId, "backup.failure");
    await db().update(webhookDeliveries).set({ status: "delivered" }).where(eq(webhookDeliveries.eventId, delivered.eventId));
    const pending = await recordEvent(subscriberId, "backup.failure");
    const unsubscribed = await recordEvent(subscriberId, "backup.success"); // no delivery at all
    const eventIds = [delivered.eventId, pending.eventId, unsubscribed.eventId];
    const left = async () => (await db().select({ id: events.id }).from(events).where(inArray(events.id, eventIds))).map((e) => e.id).sort();

    time.now = T0 + RETENTION_MS.events - 1000;
    await daily();
    expect(await left()).toEqual([...eventIds].sort());
    time.now = T0 + RETENTION_MS.events + 1000;
    await daily();
    expect(await left()).toEqual([pending.eventId]);
    expect(await deliveryStatuses(pending.deliveries.map((d) => d.id))).toEqual(["pending"]);
  });

  it("removes email and agent registration tokens a day after they expired (used ones too)", async () => {
    time.freezeAt(T0);
    const { subscriberId, userId } = await createSubscriber();
    const token = (expiresAt: number, usedAt: number | null) => ({
      tokenHash: crypto.randomUUID(),
      expiresAt: new Date(expiresAt),
      usedAt: usedAt === null ? null : new Date(usedAt),
      createdAt: new Date(expiresAt - DAY),
    });
    const old = T0 - RETENTION_MS.expiredTokens - 1000;
    const recent = T0 - RETENTION_MS.expiredTokens + 1000;
    await db().insert(emailTokens).values([
      { userId, purpose: "confirm_email", ...token(old, null) },
      { userId, purpose: "reset_password", ...token(old, old - 60_000) },
      { userId, purpose: "reset_password", ...token(recent, null) },
      { userId, purpose: "confirm_email", ...token(T0 + DAY, T0) },
    ]);
    await db().insert(agentRegistrationTokens).values([
      { subscriberId, ...token(old, null) },
      { subscriberId, ...token(T0 + DAY, null) },
    ]);
    await daily();
    const emails = await db().select({ expiresAt: emailTokens.expiresAt }).from(emailTokens).where(eq(emailTokens.userId, userId));
    expect(emails.map((e) => e.expiresAt.getTime()).sort()).toEqual([recent, T0 + DAY]);
    const registrations = await db().select({ expiresAt: agentRegistrationTokens.expiresAt }).from(agentRegistrationTokens).where(eq(agentRegistrationTokens.subscriberId, subscriberId));
    expect(registrations.map((r) => r.expiresAt.getTime())).toEqual([T0 + DAY]);
  });

  it("removes missed-schedule reports after 7 days, one row at a time (not all of a job's)", async () => {
    time.freezeAt(T0);
    const { subscriberId } = await createSubscriber();
    const backupJobId = crypto.randomUUID();
    const at = new Date(T0);
    await db().insert(backupJobs).values({ id: backupJobId, subscriberId, name: "j", isEnabled: true, schedules: [], retentionDays: 7, encryptionEnabled: false, createdAt: at, updatedAt: at });
    const report = (ageMs: number) => ({ backupJobId, subscriberId, scheduledFor: new Date(T0 - ageMs), reportedAt: new Date(T0 - ageMs) });
    await db().insert(missedScheduleReports).values([report(RETENTION_MS.missedScheduleReports + 60_000), report(RETENTION_MS.missedScheduleReports - 60_000)]);
    await daily();
    const left = await db().select({ scheduledFor: missedScheduleReports.scheduledFor }).from(missedScheduleReports).where(eq(missedScheduleReports.backupJobId, backupJobId));
    expect(left).toEqual([{ scheduledFor: new Date(T0 - RETENTION_MS.missedScheduleReports + 60_000) }]);
  });
});

describe("housekeeping purges of sessions, inventory and history (daily cron)", () => {
  const ids = async <T extends { id: string }>(rows: Promise<T[]>) => (await rows).map((r) => r.id).sort();

  it("removes browser sessions a day after they expired; live and recently expired ones stay", async () => {
    time.freezeAt(T0);
    const { subscriberId, userId } = await createSubscriber();
    const session = (expiresAt: number) => ({ subscriberId, userId, tokenHash: crypto.randomUUID(), sessionGeneration: 0, expiresAt: new Date(expiresAt), createdAt: new Date(expiresAt - DAY) });
    const [, recent, live] = await db()
      .insert(browserSessions)
      .values([session(T0 - RETENTION_MS.expiredBrowserSessions - 1000), session(T0 - RETENTION_MS.expiredBrowserSessions + 1000), session(T0 + DAY)])
      .returning({ id: browserSessions.id });
    await daily();
    expect(await ids(db().select({ id: browserSessions.id }).from(browserSessions).where(eq(browserSessions.userId, userId)))).toEqual([recent.id, live.id].sort());
  });

  it("forgets a deleted agent's token marker after 180 days", async () => {
    time.freezeAt(T0);
    const { subscriberId } = await createSubscriber();
    const marker = (revokedAt: number) => ({ tokenHash: crypto.randomUUID(), subscriberId, agentId: crypto.randomUUID(), revokedAt: new Date(revokedAt) });
    const recent = marker(T0 - RETENTION_MS.revokedAgentTokens + 60_000);
    await db().insert(revokedAgentTokens).values([marker(T0 - RETENTION_MS.revokedAgentTokens - 60_000), recent]);
    await daily();
    const left = await db().select({ tokenHash: revokedAgentTokens.tokenHash }).from(revokedAgentTokens).where(eq(revokedAgentTokens.subscriberId, subscriberId));
    expect(left).toEqual([{ tokenHash: recent.tokenHash }]);
  });

  it("removes files the agent deleted 90 days ago; Available files and recent deletions stay", async () => {
    time.freezeAt(T0);
    const { subscriberId } = await createSubscriber();
    const file = (status: "Available" | "Deleted", deletedAgo: number | null) => ({
      subscriberId,
      backupJobId: "job",
      backupRunId: crypto.randomUUID(),
      databaseId: "db",
      destinationId: "dest",
      fileName: `f-${crypto.randomUUID()}.gz`,
      fileSize: 1,
      checksum: "sha256:00",
      status,
      deletedUtc: deletedAgo === null ? null : new Date(T0 - deletedAgo),
      dateCreated: new Date(T0 - 2 * RETENTION_MS.deletedBackupFiles),
    });
    const rows = await db()
      .insert(backupFiles)
      .values([file("Deleted", RETENTION_MS.deletedBackupFiles + 60_000), file("Deleted", RETENTION_MS.deletedBackupFiles - 60_000), file("Available", null)])
      .returning({ id: backupFiles.id });
    await daily();
    expect(await ids(db().select({ id: backupFiles.id }).from(backupFiles).where(eq(backupFiles.subscriberId, subscriberId)))).toEqual([rows[1].id, rows[2].id].sort());
  });

  it("removes finished runs, restores and drills after 400 days, but keeps a run whose file is still Available and anything unfinished", async () => {
    time.freezeAt(T0);
    const { subscriberId } = await createSubscriber();
    const old = new Date(T0 - RETENTION_MS.history - 60_000);
    const recent = new Date(T0 - RETENTION_MS.history + 60_000);
    const run = (status: "Success" | "Failed" | "Running", createdAt: Date) => ({ subscriberId, backupJobId: "job", agentId: "agent", backupMode: "Full" as const, trigger: "Schedule" as const, status, createdAt });
    const [, oldWithFile, oldRunning, recentSuccess] = await db()
      .insert(backupRuns)
      .values([run("Failed", old), run("Success", old), run("Running", old), run("Success", recent)])
      .returning({ id: backupRuns.id });
    await db().insert(backupFiles).values({ subscriberId, backupJobId: "job", backupRunId: oldWithFile.id, databaseId: "db", destinationId: "dest", fileName: "kept.gz", fileSize: 1, checksum: "sha256:00", dateCreated: old });
    const restore = (status: "Success" | "Queued", createdAt: Date) => ({ subscriberId, backupFileId: "file", agentId: "agent", targetDatabaseName: "t", overwrite: false, status, createdAt });
    const restoreRows = await db().insert(restores).values([restore("Success", old), restore("Queued", old), restore("Success", recent)]).returning({ id: restores.id });
    const drill = (status: "Failed" | "Running", createdAt: Date) => ({ subscriberId, backupJobId: "job", backupFileId: "file", agentId: "agent", status, createdAt });
    const drillRows = await db().insert(verifications).values([drill("Failed", old), drill("Running", old), drill("Failed", recent)]).returning({ id: verifications.id });

    await daily();
    expect(await ids(db().select({ id: backupRuns.id }).from(backupRuns).where(eq(backupRuns.subscriberId, subscriberId)))).toEqual(
      [oldWithFile.id, oldRunning.id, recentSuccess.id].sort(),
    );
    expect(await ids(db().select({ id: restores.id }).from(restores).where(eq(restores.subscriberId, subscriberId)))).toEqual([restoreRows[1].id, restoreRows[2].id].sort());
    expect(await ids(db().select({ id: verifications.id }).from(verifications).where(eq(verifications.subscriberId, subscriberId)))).toEqual(
      [drillRows[1].id, drillRows[2].id].sort(),
    );
  });

  it("removes alert throttles idle for 90 days with nothing pending", async () => {
    time.freezeAt(T0);
    const subscriberId = crypto.randomUUID();
    const throttle = (lastOccurredAgo: number, pendingCount: number) => ({
      subjectId: crypto.randomUUID(),
      kind: "backupFailure" as const,
      subscriberId,
      subjectName: "job",
      lastOccurredAt: new Date(T0 - lastOccurredAgo),
      pending: pendingCount ? ["event"] : [],
      pendingCount,
    });
    const idle = throttle(RETENTION_MS.idleAlertThrottles + 60_000, 0);
    const idleButPending = throttle(RETENTION_MS.idleAlertThrottles + 60_000, 1);
    const recent = throttle(RETENTION_MS.idleAlertThrottles - 60_000, 0);
    await db().insert(alertThrottles).values([idle, idleButPending, recent]);
    await daily();
    const left = await db().select({ subjectId: alertThrottles.subjectId }).from(alertThrottles).where(eq(alertThrottles.subscriberId, subscriberId));
    expect(left.map((r) => r.subjectId).sort()).toEqual([idleButPending.subjectId, recent.subjectId].sort());
  });
});

describe("purgeInChunks (the one bounded purge every purge uses)", () => {
  it("deletes at most chunk × maxChunks rows per call; the next call takes the rest", async () => {
    const to = `chunks-${crypto.randomUUID()}@example.com`;
    await db()
      .insert(outboxEmails)
      .values(Array.from({ length: 5 }, (_, i) => ({ to, subject: `s${i}`, text: "x", createdAt: new Date(T0) })));
    const mine = eq(outboxEmails.to, to);
    expect(await purgeInChunks(db(), outboxEmails, outboxEmails.id, mine, { chunk: 2, maxChunks: 2 })).toBe(4);
    expect(await db().select().from(outboxEmails).where(mine)).toHaveLength(1);
    expect(await purgeInChunks(db(), outboxEmails, outboxEmails.id, mine, { chunk: 2, maxChunks: 2 })).toBe(1);
    expect(await db().select().from(outboxEmails).where(mine)).toHaveLength(0);
  });
});
