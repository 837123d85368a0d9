import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { decodeJwt } from "jose";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { agents, alertBacklog, backupRuns, notificationPreferences } from "../../src/db/schema";
import { CRON, scheduled } from "../../src/scheduled";
import { ALERT_QUEUE_NAME, AGENT_OFFLINE_ALERT_AFTER_MS, sweepAlerts } from "../../src/services/alert-queue";
import { sendAlertEmail } from "../../src/services/alert-email";
import { eventInsert, publishEvents } from "../../src/services/event";
import { api, createColleague, createSubscriber, db } from "../helpers";
import { alertEmails, eventually, recordingAlertQueue, throttleRow, unsubscribeLink } from "../support/alert";
import { emailsTo } from "../support/auth";
import { AgentSocket, createAgent, createDestination, createJob } from "../support/backup";
import { T0, time } from "../support/manual-clock";

const MINUTE = 60_000;
const controller = (cron: string) => ({ cron, scheduledTime: time.now, noRetry() {} }) as ScheduledController;
const CHECKSUM = `sha256:${"0f".repeat(32)}`;

/** A Free subscriber with a connected agent and one job "Nightly" on it. */
async function freeAccountWithJob() {
  const user = await createSubscriber({ plan: "Free" });
  const agent = await createAgent(user.subscriberId);
  const destinationId = await createDestination(user.token);
  const backupJobId = await createJob(user.token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });
  const socket = await AgentSocket.connect(agent.agentToken);
  return { ...user, agent, destinationId, backupJobId, socket };
}

type Account = Awaited<ReturnType<typeof freeAccountWithJob>>;

async function failRun({ socket, backupJobId }: Account, error: string) {
  const backupRunId = crypto.randomUUID();
  const startedUtc = new Date(time.now).toISOString();
  expect(await socket.report({ type: "backup.started", backupRunId, backupJobId, backupMode: "Full", trigger: "Schedule", startedUtc })).toMatchObject({ type: "ack" });
  expect(await socket.report({ type: "backup.failed", backupRunId, finishedUtc: startedUtc, error })).toMatchObject({ type: "ack" });
}

async function succeedRun({ socket, backupJobId, agent, destinationId }: Account) {
  const backupRunId = crypto.randomUUID();
  const startedUtc = new Date(time.now).toISOString();
  expect(await socket.report({ type: "backup.started", backupRunId, backupJobId, backupMode: "Full", trigger: "Schedule", startedUtc })).toMatchObject({ type: "ack" });
  const files = [{ databaseId: agent.databaseIds[0], destinationId, fileName: "Sales_Full.bak", fileSize: 500, checksum: CHECKSUM }];
  expect(await socket.report({ type: "backup.completed", backupRunId, finishedUtc: startedUtc, files })).toMatchObject({ type: "ack" });
}

describe("email alerts of failed runs (every plan), throttled per job", { timeout: 30_000 }, () => {
  it("a failed run on a Free account emails at once, batches the next failures of that hour into one email, and a success resets", async () => {
    time.freezeAt(T0);
    const account = await freeAccountWithJob();
    const optedOut = await createColleague(account.subscriberId);
    await db().insert(notificationPreferences).values({ userId: optedOut.userId, backupFailure: false, updatedAt: new Date(T0) });
    const stranger = await createSubscriber({ plan: "Free" });

    await failRun(account, "disk full");
    const [first] = await alertEmails(account.email, 1);
    expect(first.subject).toBe("Backup failed: Nightly");
    expect(first.text).toContain("disk full");
    expect(first.text).toContain(`${env.PUBLIC_URL}/api/account/notifications/unsubscribe?token=`);

    time.now = T0 + 10 * MINUTE;
    await failRun(account, "network unreachable");
    time.now = T0 + 20 * MINUTE;
    await failRun(account, "agent killed");
    await eventually(async () => expect((await throttleRow(account.backupJobId, "backupFailure")).pendingCount).toBe(2));

    time.now = T0 + 59 * MINUTE;
    await scheduled(controller(CRON.everyMinute), env);
    time.now = T0 + 60 * MINUTE;
    await scheduled(controller(CRON.everyMinute), env);
    const emails = await alertEmails(account.email, 2);
    expect(emails[1].subject).toBe("2 more failed backups in the last hour: Nightly");
    expect(emails[1].text).toContain("network unreachable");
    expect(emails[1].text).toContain("agent killed");
    // Sent: the next sweep has nothing left to send.
    await scheduled(controller(CRON.everyMinute), env);

    time.now = T0 + 65 * MINUTE;
    await succeedRun(account);
    await eventually(async () => expect((await throttleRow(account.backupJobId, "backupFailure")).lastSentAt).toBeNull());
    time.now = T0 + 70 * MINUTE;
    await failRun(account, "disk full again");
    const afterReset = await alertEmails(account.email, 3);
    expect(afterReset[2].subject).toBe("Backup failed: Nightly");
    expect(afterReset[2].text).toContain("disk full again");

    expect(await emailsTo(optedOut.email)).toEqual([]);
    expect(await emailsTo(stranger.email)).toEqual([]);
    account.socket.close();
  });

  it("emails every opted-in user of the subscriber, each with an unsubscribe link of their own", async () => {
    time.freezeAt(T0 + 24 * 60 * MINUTE);
    const account = await freeAccountWithJob();
    const colleague = await createColleague(account.subscriberId);
    await failRun(account, "disk full");
    const [mine] = await alertEmails(account.email, 1);
    const [theirs] = await alertEmails(colleague.email, 1);
    expect(unsubscribeLink(mine)).not.toBe(unsubscribeLink(theirs));

    // The colleague follows the link: only that kind stops, for that user only.
    const res = await api(unsubscribeLink(theirs).replace(env.PUBLIC_URL, ""), { method: "POST" });
    expect(res.status).toBe(200);
    time.now += 2 * 60 * MINUTE;
    await failRun(account, "disk full, later");
    await alertEmails(account.email, 2);
    expect(await emailsTo(colleague.email)).toHaveLength(1);
    account.socket.close();
  });
});

describe("anomaly, agent offline and weekly summary alerts", { timeout: 30_000 }, () => {
  it("an anomaly is emailed at once, and the next one of the hour waits for the batch", async () => {
    time.freezeAt(T0 + 48 * 60 * MINUTE);
    const { subscriberId, email } = await createSubscriber();
    const backupJobId = crypto.randomUUID();
    for (const actual of [10, 20]) {
      const event = eventInsert({ db: db(), subscriberId, now: new Date(time.now) }, "backup.anomaly", { backupJobId, name: "Orders", kind: "size", expected: 1000, actual });
      await db().batch([...event.queries]);
      await publishEvents(env, [event.id]);
    }
    const [alert] = await alertEmails(email, 1);
    expect(alert.subject).toBe("Backup anomaly: Orders");
    expect(alert.text).toContain("size anomaly, expected 1000, actual 10");
    await eventually(async () => expect((await throttleRow(backupJobId, "anomaly")).pendingCount).toBe(1));
  });

  it("an agent offline for more than 10 minutes is emailed once per disconnection", async () => {
    time.freezeAt(T0 + 72 * 60 * MINUTE);
    const { subscriberId, email } = await createSubscriber();
    const { agentId } = await createAgent(subscriberId);
    await db().update(agents).set({ isOnline: false, lastSeenUtc: new Date(time.now) }).where(eq(agents.id, agentId));
    const sweep = async (at: number) => {
      time.now = at;
      const queue = recordingAlertQueue();
      await sweepAlerts({ env: queue.env, db: db(), now: new Date(at) });
      return queue.sent.filter((m) => m.type === "agentOffline" && m.agentId === agentId);
    };
    const disconnectedAt = time.now;
    expect(await sweep(disconnectedAt + AGENT_OFFLINE_ALERT_AFTER_MS - MINUTE)).toEqual([]);
    expect(await sweep(disconnectedAt + AGENT_OFFLINE_ALERT_AFTER_MS + MINUTE)).toHaveLength(1);
    const [alert] = await alertEmails(email, 1);
    expect(alert.subject).toBe("Agent offline: SQL-01");
    expect(alert.text).toContain(`offline since ${new Date(disconnectedAt).toISOString()}`);
    await eventually(async () => expect((await throttleRow(agentId, "agentOffline")).lastOccurredAt.getTime()).toBe(disconnectedAt));
    expect(await sweep(disconnectedAt + AGENT_OFFLINE_ALERT_AFTER_MS + 2 * MINUTE)).toEqual([]);
    expect(await emailsTo(email)).toHaveLength(1);
  });

  it("the weekly trigger emails a summary of runs, failures and size per job to the users who want it", async () => {
    time.freezeAt(T0 + 96 * 60 * MINUTE);
    const account = await createSubscriber();
    const optedOut = await createColleague(account.subscriberId);
    await api("/api/account/notifications", { method: "PUT", token: optedOut.token, json: { weeklyReport: false } });
    const agent = await createAgent(account.subscriberId);
    const destinationId = await createDestination(account.token);
    const backupJobId = await createJob(account.token, { name: "Weekly Sales", agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });
    const run = (status: "Success" | "Failed", totalSize: number | null, daysAgo: number) => ({
      id: crypto.randomUUID(),
      subscriberId: account.subscriberId,
      backupJobId,
      agentId: agent.agentId,
      backupMode: "Full" as const,
      trigger: "Schedule" as const,
      status,
      totalSize,
      createdAt: new Date(time.now - daysAgo * 24 * 60 * MINUTE),
    });
    await db().insert(backupRuns).values([run("Success", 1536, 1), run("Success", 1536, 2), run("Failed", null, 3), run("Success", 999_999, 8)]);

    await scheduled(controller(CRON.weekly), env);
    const [summary] = await alertEmails(account.email, 1);
    expect(summary.subject).toBe("Weekly backup summary: 3 runs, 1 failed");
    expect(summary.text).toContain("- Weekly Sales: 3 runs, 1 failed, 3.0 KiB");
    expect(await emailsTo(optedOut.email)).toEqual([]);
  });
});

describe("alert emails at the provider", { timeout: 30_000 }, () => {
  it("carry RFC 8058 List-Unsubscribe and List-Unsubscribe-Post headers with the recipient's own link", async () => {
    const { subscriberId, email, userId } = await createSubscriber();
    const provider = vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("{}", { status: 202 }));
    try {
      const withProvider = { ...env, EMAIL_API_URL: "https://email-provider.example/send", EMAIL_API_KEY: "provider-key" } as Env;
      expect(await sendAlertEmail({ env: withProvider, db: db(), now: new Date() }, subscriberId, "anomaly", { subject: "Backup anomaly: Orders", body: "size" })).toBe(1);
      const [url, init] = provider.mock.calls.find(([target]) => String(target) === withProvider.EMAIL_API_URL)!;
      expect(String(url)).toBe("https://email-provider.example/send");
      const sent = JSON.parse(String(init!.body)) as { to: string; headers: Record<string, string>; text: string };
      expect(sent.to).toBe(email);
      expect(sent.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
      const link = sent.headers["List-Unsubscribe"].slice(1, -1);
      expect(sent.text).toContain(link);
      expect(decodeJwt(link.split("token=")[1])).toMatchObject({ sub: userId, kind: "anomaly" });
    } finally {
      provider.mockRestore();
    }
  });
});

describe("the alert queue", { timeout: 30_000 }, () => {
  it("the Worker's queue handler routes datasync-alerts to the alert consumer, which acks what it cannot read", async () => {
    const ctx = createExecutionContext();
    const batch = createMessageBatch(ALERT_QUEUE_NAME, [{ id: "junk", timestamp: new Date(), attempts: 1, body: "not an alert" }]);
    await worker.queue(batch, env);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["junk"]);
  });

  it("a queue that is down does not fail the report, and loses no alert: the sweep queues it later", async () => {
    time.freezeAt(T0 + 120 * 60 * MINUTE);
    const { subscriberId, email } = await createSubscriber();
    const backupJobId = crypto.randomUUID();
    const event = eventInsert({ db: db(), subscriberId, now: new Date(time.now) }, "backup.failure", { backupJobId, name: "Ledger", backupMode: "Full", error: "disk full" });
    await db().batch([...event.queries]);
    const down = { ...env, ALERT_QUEUE: { send: () => Promise.reject(new Error("queue unavailable")) } } as unknown as Env;
    await expect(publishEvents(down, [event.id])).resolves.toBeUndefined();
    expect((await db().select().from(alertBacklog)).map((row) => row.eventIds)).toContainEqual([event.id]);
    expect(await emailsTo(email)).toEqual([]);

    await sweepAlerts({ env, db: db(), now: new Date(time.now) });
    const [alert] = await alertEmails(email, 1);
    expect(alert.subject).toBe("Backup failed: Ledger");
    expect((await db().select().from(alertBacklog)).map((row) => row.eventIds)).not.toContainEqual([event.id]);
  });
});
