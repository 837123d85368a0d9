import { env } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { agentRegistrationTokens, backupJobs, emailTokens, events, missedScheduleReports, outboxEmails, webhookDeliveries } from "../../src/db/schema";
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
