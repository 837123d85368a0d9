// bench:d1 — the D1 ceiling of the hottest writes, on this machine, against workerd's local D1 (SQLite
// on local disk: not production D1, whose every query also crosses the network to the database's one
// primary). Sequential, as a single D1 database runs its queries one at a time. Baseline of the same
// run: a one-row insert with no index work beyond its key (an outbox email).
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { createDb } from "../src/db/client";
import { backupJobs, destinations, outboxEmails } from "../src/db/schema";
import { applyBackupReport } from "../src/services/backup-report";
import { recordAgentLog } from "../src/services/log";
import { createSubscriber } from "../test/helpers";
import { createAgent } from "../test/support/backup";
import { type D1Counts, countingD1, elapsedMs } from "./d1-counter";

const N = Number(process.env.BENCH_D1_N ?? 300);
const CHECKSUM = `sha256:${"ab".repeat(32)}`;

/** The database file's size as D1 reports it after a query. */
async function databaseBytes(): Promise<number> {
  return (await env.DB.prepare("SELECT 1").all()).meta.size_after ?? 0;
}

async function rate(name: string, items: number, work: (db: D1Database, i: number) => Promise<unknown>) {
  const counts: D1Counts = { statements: 0, rowsRead: 0, rowsWritten: 0 };
  const db = countingD1(env.DB, counts);
  const sizeBefore = await databaseBytes();
  const start = Date.now();
  for (let i = 0; i < items; i++) await work(db, i);
  const ms = await elapsedMs(env.DB, start);
  const bytesEach = Math.round(((await databaseBytes()) - sizeBefore) / items);
  return {
    name,
    perSecond: Math.round((items / ms) * 1000),
    msEach: +(ms / items).toFixed(2),
    d1CallsEach: +(counts.statements / items).toFixed(1),
    rowsWrittenEach: +(counts.rowsWritten / items).toFixed(1),
    rowsReadEach: +(counts.rowsRead / items).toFixed(1),
    bytesEach,
  };
}

it("bench:d1", async () => {
  const { subscriberId } = await createSubscriber({ plan: "Ultimate" });
  const { agentId, databaseIds } = await createAgent(subscriberId, { databases: ["Sales"] });
  const now = new Date();
  const destinationId = crypto.randomUUID();
  const backupJobId = crypto.randomUUID();
  const setup = createDb(env.DB);
  await setup.batch([
    setup.insert(destinations).values({ id: destinationId, subscriberId, agentId, name: "Disk", type: "LocalStorage", settings: { path: "/b" }, createdAt: now, updatedAt: now }),
    setup.insert(backupJobs).values({ id: backupJobId, subscriberId, agentId, name: "Nightly", isEnabled: true, schedules: [], retentionDays: 7, encryptionEnabled: false, createdAt: now, updatedAt: now }),
  ]);
  const scope = (db: D1Database) => ({ db: createDb(db), env, subscriberId, now: new Date() });

  // Warm-up (first statements compile, the file grows): not measured.
  for (let i = 0; i < 30; i++) await createDb(env.DB).insert(outboxEmails).values({ to: "warm@example.com", subject: "s", text: "t", createdAt: new Date() });
  const results = [
    await rate("baseline: one-row insert", N, (db) => createDb(db).insert(outboxEmails).values({ to: "bench@example.com", subject: "s", text: "t", createdAt: new Date() })),
    await rate("agent log entry (log frame)", N, (db) =>
      recordAgentLog(scope(db), agentId, { id: crypto.randomUUID(), severity: "Information", message: "Backup of Sales started.", timestamp: new Date().toISOString() }),
    ),
    await rate("backup run reported (started + completed, 1 file)", Math.ceil(N / 3), async (db) => {
      const backupRunId = crypto.randomUUID();
      const startedUtc = new Date(Date.now() - 60_000).toISOString();
      await applyBackupReport(scope(db), agentId, { type: "backup.started", id: crypto.randomUUID(), backupRunId, backupJobId, backupMode: "Full", trigger: "Schedule", startedUtc });
      await applyBackupReport(scope(db), agentId, {
        type: "backup.completed",
        id: crypto.randomUUID(),
        backupRunId,
        finishedUtc: new Date().toISOString(),
        files: [{ databaseId: databaseIds[0], destinationId, fileName: `Sales-${backupRunId}.bak`, fileSize: 1000, checksum: CHECKSUM }],
      });
    }),
  ];
  const base = results[0].perSecond;
  for (const r of results) console.log(JSON.stringify({ ...r, vsBaseline: +(r.perSecond / base).toFixed(2) }));
});
