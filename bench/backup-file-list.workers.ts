// bench:files — where a page of GET /api/backupfile (50 files) spends its time inside workerd, part by
// part: the whole request next to one of 1 file and the health check, the D1 batch with and without
// Drizzle, and the Worker's JavaScript per page (Drizzle's row mapping, building the response, JSON)
// as the list did it before (10 columns, Date objects, a second mapping) and as it does now (the query
// shapes the response). Wall-clock figures are ms per call, every variant once per round in turn so the
// machine's load hits all alike; they assert nothing. workerd's clock moves only at I/O (elapsedMs).
import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { and, desc, eq } from "drizzle-orm";
import { it } from "vitest";
import { app } from "../src/app";
import { createDb } from "../src/db/client";
import { backupFiles } from "../src/db/schema";
import { isoUtc } from "../src/lib/time";
import { fileListQueries, listFiles } from "../src/services/backup-file";
import { createSubscriber } from "../test/helpers";
import { elapsedMs, median } from "./d1-counter";

const N = Number(process.env.BENCH_FILES_N ?? 100);
const ROUNDS = Number(process.env.BENCH_FILES_ROUNDS ?? 7);
const page = { page: 1, pageSize: 50 };

async function seed(subscriberId: string) {
  const db = createDb(env.DB);
  const base = Date.UTC(2026, 2, 1);
  const rows = Array.from({ length: 60 }, (_, i) => ({
    subscriberId,
    backupJobId: "job-1",
    backupRunId: `run-${Math.floor(i / 10)}`,
    databaseId: `db-${i % 10}`,
    destinationId: "dest-1",
    fileName: `Sales_2026-03-01_${String(i).padStart(4, "0")}.bak.gz`,
    fileSize: 123_456_789 + i,
    checksum: `sha256:${"ab".repeat(32)}`,
    dateCreated: new Date(base + i * 60_001),
    // A few removed by retention (listed with status=all), to compare deletedUtc's text too.
    ...(i % 7 === 3 ? { status: "Deleted" as const, deletedUtc: new Date(base + i * 90_007) } : {}),
  }));
  for (let i = 0; i < rows.length; i += 5) await db.insert(backupFiles).values(rows.slice(i, i + 5));
}

/** ms per call of `work`: `n` calls timed together, read after one D1 round trip. */
async function time(work: () => unknown, n = N): Promise<number> {
  const start = Date.now();
  for (let i = 0; i < n; i++) await work();
  return (await elapsedMs(env.DB, start)) / n;
}

/** The list's query and mapping before this change: Drizzle's 10 columns, a Date per instant, then renamed. */
function before(subscriberId: string, all = false) {
  const db = createDb(env.DB);
  const rows = db
    .select({
      id: backupFiles.id, backupJobId: backupFiles.backupJobId, fileName: backupFiles.fileName, fileSize: backupFiles.fileSize, checksum: backupFiles.checksum,
      dateCreated: backupFiles.dateCreated, backupMode: backupFiles.backupMode, baseBackupFileId: backupFiles.baseBackupFileId, status: backupFiles.status, deletedUtc: backupFiles.deletedUtc,
    })
    .from(backupFiles)
    .where(all ? eq(backupFiles.subscriberId, subscriberId) : and(eq(backupFiles.subscriberId, subscriberId), eq(backupFiles.status, "Available")))
    .orderBy(desc(backupFiles.dateCreated), desc(backupFiles.id))
    .limit(page.pageSize);
  type Row = Awaited<typeof rows>[number];
  const toSummary = (f: Row) => ({
    backupFileId: f.id, backupJobId: f.backupJobId, fileName: f.fileName, fileSize: f.fileSize, checksum: f.checksum,
    dateCreated: isoUtc(f.dateCreated), backupMode: f.backupMode, baseBackupFileId: f.baseBackupFileId, status: f.status, deletedUtc: isoUtc(f.deletedUtc),
  });
  return { db, rows, toSummary };
}

type Prepared = { _prepare(): { mapAllResult(result: unknown, fromBatch: boolean): unknown[] } };

it("bench:files", async () => {
  // Whole requests are spread over 8 subscribers so none reaches its rate limit.
  const subscribers: Awaited<ReturnType<typeof createSubscriber>>[] = [];
  for (let i = 0; i < 8; i++) subscribers.push(await createSubscriber({ plan: "Ultimate" }));
  for (const s of subscribers) await seed(s.subscriberId);
  const { subscriberId } = subscribers[0];
  let next = 0;
  const token = () => subscribers[next++ % subscribers.length].token;
  const db = createDb(env.DB);
  const ctx = { db, subscriberId };
  const now = fileListQueries(ctx, {}, page);
  const old = before(subscriberId);
  const total = now.total.toSQL();
  const d1Batch = (q: { sql: string; params: unknown[] }) => env.DB.batch([env.DB.prepare(q.sql).bind(...q.params), env.DB.prepare(total.sql).bind(...total.params)]);

  // Same bytes either way, with and without removed files.
  const oldJson = JSON.stringify((await old.rows).map(old.toSummary));
  const oldAll = JSON.stringify((await before(subscriberId, true).rows).map(old.toSummary));
  if (JSON.stringify((await listFiles(ctx as never, {}, page)).rows) !== oldJson) throw new Error("the two paths answer differently");
  if (JSON.stringify((await listFiles(ctx as never, { status: "all" }, page)).rows) !== oldAll || !oldAll.includes("deletedUtc\":\"2026")) throw new Error("the two paths answer differently (status=all)");

  const variants: [string, () => unknown][] = [];
  const measure = (name: string, work: () => unknown) => variants.push([name, work]);
  const request = async (path: string) => (await exports.default.fetch(new Request(`http://localhost${path}`, { headers: { authorization: `Bearer ${token()}` } }))).arrayBuffer();
  const inProcess = async (path: string) =>
    (await app.fetch(new Request(`http://localhost${path}`, { headers: { authorization: `Bearer ${token()}` } }), env, createExecutionContext())).arrayBuffer();
  measure("SELECT 1 (baseline round trip)", () => env.DB.prepare("SELECT 1").all());
  measure("request GET /api/health", async () => (await exports.default.fetch("http://localhost/api/health")).arrayBuffer());
  measure("request GET /api/backupfile (50 files)", () => request("/api/backupfile"));
  measure("request GET /api/backupfile?pageSize=1", () => request("/api/backupfile?pageSize=1"));
  measure("in-process app.fetch, 50 files", () => inProcess("/api/backupfile"));
  measure("in-process app.fetch, pageSize=1", () => inProcess("/api/backupfile?pageSize=1"));
  measure("listFiles (now: the query shapes the rows)", () => listFiles(ctx as never, {}, page));
  measure("before: Drizzle batch + Date + mapping", async () => (await db.batch([old.rows, now.total]))[0].map(old.toSummary));
  measure("D1 batch alone, now's SQL", () => d1Batch(now.rows.toSQL()));
  measure("D1 batch alone, before's SQL", () => d1Batch(old.rows.toSQL()));
  measure("D1 rows alone .raw(), now's SQL", () => { const q = now.rows.toSQL(); return env.DB.prepare(q.sql).bind(...q.params).raw(); });
  measure("D1 count alone", () => env.DB.prepare(total.sql).bind(...total.params).raw());

  const timings = variants.map(() => [] as number[]);
  for (const [, work] of variants) await time(work); // warm-up
  for (let r = 0; r < ROUNDS; r++) for (const [i, [, work]] of variants.entries()) timings[i].push(await time(work));
  const baseline = median(timings[0]);
  console.log(`wall-clock ms per call, median of ${ROUNDS} rounds × ${N} calls`);
  for (const [i, [name]] of variants.entries()) console.log(`${name.padEnd(44)} ${median(timings[i]).toFixed(3)} ms  (${(median(timings[i]) / baseline).toFixed(2)} × SELECT 1)`);

  // The Worker's JavaScript per page alone: from what D1's batch hands over to the JSON body.
  const [nowResult] = await d1Batch(now.rows.toSQL());
  const [oldResult] = await d1Batch(old.rows.toSQL());
  const oldPrepared = (old.rows as unknown as Prepared)._prepare();
  const cpu: [string, () => string][] = [
    ["before: Drizzle mapping, Dates, toSummary, JSON", () => JSON.stringify((oldPrepared.mapAllResult(oldResult, true) as Parameters<typeof old.toSummary>[0][]).map(old.toSummary))],
    ["now: D1's row objects as they come, JSON", () => JSON.stringify(nowResult.results)],
  ];
  for (const [name, work] of cpu) {
    const rounds: number[] = [];
    for (let r = 0; r < 5; r++) rounds.push(await time(work, 500));
    console.log(`JS only, per page: ${name.padEnd(48)} ${median(rounds).toFixed(4)} ms`);
  }
});
