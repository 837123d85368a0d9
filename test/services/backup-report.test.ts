import { eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { backupFiles, backupJobs, backupRuns, events } from "../../src/db/schema";
import { setClock } from "../../src/lib/clock";
import { CRON, scheduled } from "../../src/scheduled";
import { api, createSubscriber, db } from "../helpers";
import { AgentSocket, createAgent, createDestination, createJob } from "../support/backup";

const CHECKSUM = `sha256:${"0f".repeat(32)}`;

/** What the Workers runtime hands the `scheduled` handler when the every-minute cron trigger fires. */
const EVERY_MINUTE = { cron: CRON.everyMinute, scheduledTime: 0, noRetry() {} } as ScheduledController;

afterEach(() => setClock(null));

/** A subscriber with a connected agent and one job on it. */
async function connectedJob() {
  const user = await createSubscriber();
  const agent = await createAgent(user.subscriberId);
  const destinationId = await createDestination(user.token);
  const backupJobId = await createJob(user.token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });
  const socket = await AgentSocket.connect(agent.agentToken);
  return { ...user, agent, destinationId, backupJobId, socket };
}

const startedFrame = (backupJobId: string, backupRunId: string, trigger = "Schedule") => ({
  type: "backup.started",
  backupRunId,
  backupJobId,
  backupMode: "Full",
  trigger,
  startedUtc: "2026-11-27T02:00:00Z",
});

async function snapshot(subscriberId: string) {
  return {
    runs: await db().select().from(backupRuns).where(eq(backupRuns.subscriberId, subscriberId)),
    files: await db().select().from(backupFiles).where(eq(backupFiles.subscriberId, subscriberId)),
    events: await db().select().from(events).where(eq(events.subscriberId, subscriberId)),
    jobs: await db().select().from(backupJobs).where(eq(backupJobs.subscriberId, subscriberId)),
  };
}

describe("backup reports from agents", () => {
  it("creates the run of a scheduled backup from backup.started and completes it", async () => {
    const { token, agent, destinationId, backupJobId, socket } = await connectedJob();
    const backupRunId = crypto.randomUUID();
    expect(await socket.report(startedFrame(backupJobId, backupRunId))).toMatchObject({ type: "ack" });
    expect(await (await api(`/api/backupjob/${backupJobId}/history`, { token })).json()).toMatchObject([
      { backupRunId, trigger: "Schedule", status: "Running", backupMode: "Full", startedUtc: "2026-11-27T02:00:00Z" },
    ]);
    const files = [{ databaseId: agent.databaseIds[0], destinationId, fileName: "Sales_Full.bak", fileSize: 500, checksum: CHECKSUM }];
    expect(await socket.report({ type: "backup.completed", backupRunId, finishedUtc: "2026-11-27T02:00:30Z", files })).toMatchObject({ type: "ack" });
    expect(await (await api(`/api/backupjob/${backupJobId}/history`, { token })).json()).toMatchObject([
      { backupRunId, trigger: "Schedule", status: "Success", durationMs: 30_000, totalSize: 500 },
    ]);
    socket.close();
  });

  it("is idempotent by message id and by backupRunId: a second report for a finished run changes nothing", async () => {
    const { subscriberId, agent, destinationId, backupJobId, socket } = await connectedJob();
    const backupRunId = crypto.randomUUID();
    await socket.report(startedFrame(backupJobId, backupRunId));
    const files = [{ databaseId: agent.databaseIds[0], destinationId, fileName: "Sales_Full.bak", fileSize: 500, checksum: CHECKSUM }];
    const completed = { id: crypto.randomUUID(), type: "backup.completed", backupRunId, finishedUtc: "2026-11-27T02:00:30Z", files };
    await socket.report(completed);
    const after = await snapshot(subscriberId);
    expect(after.files).toHaveLength(1);
    expect(after.events.filter((e) => e.type === "backup.success")).toHaveLength(1);

    // The same message again (a resend after a dropped connection), then a new message about the same run.
    expect(await socket.report(completed)).toMatchObject({ type: "ack" });
    expect(await socket.report({ ...completed, id: crypto.randomUUID(), finishedUtc: "2026-11-27T02:05:00Z" })).toMatchObject({ type: "ack" });
    expect(await socket.report({ type: "backup.failed", backupRunId, finishedUtc: "2026-11-27T02:06:00Z", error: "late" })).toMatchObject({ type: "ack" });
    expect(await socket.report(startedFrame(backupJobId, backupRunId))).toMatchObject({ type: "ack" });
    expect(await snapshot(subscriberId)).toEqual(after);
    socket.close();
  });

  it("refuses reports about other subscribers' or agents' jobs and runs, unknown databases or destinations, and changes nothing", async () => {
    const mine = await connectedJob();
    const sibling = await createAgent(mine.subscriberId, { databases: ["Other"] });
    const siblingJob = await createJob(mine.token, { name: "Sibling", agentId: sibling.agentId, databaseIds: sibling.databaseIds, destinationIds: [mine.destinationId] });
    const stranger = await connectedJob();
    const strangerRun = crypto.randomUUID();
    await stranger.socket.report(startedFrame(stranger.backupJobId, strangerRun));

    const myRun = crypto.randomUUID();
    await mine.socket.report(startedFrame(mine.backupJobId, myRun));
    const before = await snapshot(mine.subscriberId);
    const strangerBefore = await snapshot(stranger.subscriberId);

    const file = (overrides: Record<string, string>) => [
      { databaseId: mine.agent.databaseIds[0], destinationId: mine.destinationId, fileName: "x.bak", fileSize: 1, checksum: CHECKSUM, ...overrides },
    ];
    const refused: [Record<string, unknown>, string][] = [
      [startedFrame(stranger.backupJobId, crypto.randomUUID()), "Unknown backup job"],
      [startedFrame(siblingJob, crypto.randomUUID()), "Unknown backup job"],
      [startedFrame(crypto.randomUUID(), crypto.randomUUID()), "Unknown backup job"],
      [startedFrame(mine.backupJobId, strangerRun), "another job or agent"],
      [{ type: "backup.completed", backupRunId: strangerRun, finishedUtc: "2026-11-27T02:01:00Z", files: [] }, "Unknown backup run"],
      [{ type: "backup.failed", backupRunId: crypto.randomUUID(), finishedUtc: "2026-11-27T02:01:00Z", error: "x" }, "Unknown backup run"],
      [{ type: "backup.progress", backupRunId: strangerRun, bytesDone: 1 }, "Unknown backup run"],
      [{ type: "backup.completed", backupRunId: myRun, finishedUtc: "2026-11-27T02:01:00Z", files: file({ databaseId: sibling.databaseIds[0] }) }, "Unknown database"],
      [{ type: "backup.completed", backupRunId: myRun, finishedUtc: "2026-11-27T02:01:00Z", files: file({ databaseId: crypto.randomUUID() }) }, "Unknown database"],
      [{ type: "backup.completed", backupRunId: myRun, finishedUtc: "2026-11-27T02:01:00Z", files: file({ destinationId: stranger.destinationId }) }, "Unknown destination"],
    ];
    for (const [frame, error] of refused) {
      const answer = await mine.socket.report(frame);
      expect(answer, JSON.stringify(frame)).toMatchObject({ type: "error", error: expect.stringContaining(error) });
    }
    expect(await snapshot(mine.subscriberId)).toEqual(before);
    expect(await snapshot(stranger.subscriberId)).toEqual(strangerBefore);
    mine.socket.close();
    stranger.socket.close();
  });

  it("fails a triggered run that no agent starts within 15 minutes, with a backup.failure event", async () => {
    const start = Date.parse("2026-11-27T10:00:00Z");
    setClock(() => start);
    const { token, subscriberId, backupJobId, socket } = await connectedJob();
    const { backupRunId } = await (await api(`/api/backupjob/${backupJobId}/run`, { token, method: "POST" })).json<{ backupRunId: string }>();
    const { backupRunId: startedRunId } = await (await api(`/api/backupjob/${backupJobId}/run`, { token, method: "POST" })).json<{ backupRunId: string }>();
    await socket.report(startedFrame(backupJobId, startedRunId, "Manual"));

    setClock(() => start + 14 * 60_000);
    await scheduled(EVERY_MINUTE, env);
    expect((await (await api(`/api/backupjob/${backupJobId}/history`, { token })).json<{ status: string }[]>()).map((r) => r.status).sort()).toEqual(["Queued", "Running"]);

    setClock(() => start + 16 * 60_000);
    await scheduled(EVERY_MINUTE, env);
    const history = await (await api(`/api/backupjob/${backupJobId}/history`, { token })).json<{ backupRunId: string; status: string; error: string | null }[]>();
    expect(history.find((r) => r.backupRunId === backupRunId)).toMatchObject({ status: "Failed", error: expect.stringContaining("15 minutes") });
    expect(history.find((r) => r.backupRunId === startedRunId)).toMatchObject({ status: "Running" });
    const failures = (await snapshot(subscriberId)).events.filter((e) => e.type === "backup.failure");
    expect(failures.map((e) => e.data)).toEqual([expect.objectContaining({ backupJobId, backupRunId, backupMode: "Full" })]);
    expect((await (await api("/api/backupjob", { token })).json<{ lastStatus: string }[]>())[0].lastStatus).toBe("Failed");
    socket.close();
  });

  it("keeps a newer success as the job's last status when an older triggered run times out", async () => {
    const start = Date.parse("2026-11-27T10:00:00Z");
    setClock(() => start);
    const { token, agent, destinationId, backupJobId, socket } = await connectedJob();
    const { backupRunId } = await (await api(`/api/backupjob/${backupJobId}/run`, { token, method: "POST" })).json<{ backupRunId: string }>();
    const scheduledRun = crypto.randomUUID();
    await socket.report({ ...startedFrame(backupJobId, scheduledRun), startedUtc: "2026-11-27T10:05:00Z" });
    const files = [{ databaseId: agent.databaseIds[0], destinationId, fileName: "Sales.bak", fileSize: 10, checksum: CHECKSUM }];
    await socket.report({ type: "backup.completed", backupRunId: scheduledRun, finishedUtc: "2026-11-27T10:06:00Z", files });

    setClock(() => start + 16 * 60_000);
    await scheduled(EVERY_MINUTE, env);
    const history = await (await api(`/api/backupjob/${backupJobId}/history`, { token })).json<{ backupRunId: string; status: string }[]>();
    expect(history.find((r) => r.backupRunId === backupRunId)?.status).toBe("Failed");
    expect(await (await api("/api/backupjob", { token })).json()).toMatchObject([{ lastStatus: "Success", lastRunUtc: "2026-11-27T10:05:00Z" }]);
    socket.close();
  });
});
