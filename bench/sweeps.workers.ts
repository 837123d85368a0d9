// bench:sweeps — the every-minute cron tasks over 1,000 and then 100,000 backup jobs with the same due
// work (10 missed schedules), against workerd's local D1. Prints each size's median time and D1 rows
// read, their ratio, and, as the baseline of the same run, release 1's sweep (every enabled job read
// and its schedules evaluated each minute).
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { CRON, CRON_TASKS } from "../src/scheduled";
import { scheduledTimes } from "../src/services/schedule";
import { type D1Counts, countingD1, elapsedMs, median } from "./d1-counter";

const NOW = new Date("2026-11-27T10:31:00Z");
const DUE_JOBS = 10;
const ITERATIONS = 5;
const SIZES = [1_000, 100_000];
const CREATED = NOW.getTime() - 2 * 86_400_000;
const SCHEDULES = (cron: string) => JSON.stringify([{ backupMode: "Full", cronExpression: cron }]);

/** Jobs [from, to) in one statement each (a recursive CTE), 100 per subscriber, all enabled, next due tomorrow at 03:00. */
async function seedJobs(from: number, to: number) {
  const series = "WITH RECURSIVE n(i) AS (SELECT CAST(?1 AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2)";
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO subscribers (id, organisation_name, plan, created_at) ${series} SELECT 'bench-sub-' || (i / 100), 'Bench', 'Ultimate', ?3 FROM n WHERE i % 100 = 0`).bind(from, to, CREATED),
    env.DB.prepare(
      `INSERT INTO backup_jobs (id, subscriber_id, name, is_enabled, schedules, retention_days, encryption_enabled, next_due_at, created_at, updated_at)
       ${series} SELECT 'bench-job-' || i, 'bench-sub-' || (i / 100), 'Nightly ' || i, 1, ?3, 7, 0, ?4, ?5, ?5 FROM n`,
    ).bind(from, to, SCHEDULES("0 3 * * *"), Date.parse("2026-11-28T03:00:00Z"), CREATED),
  ]);
}

/** The constant due work: 10 jobs whose 10:00 run never started, due again before each measured sweep. */
async function resetDueWork() {
  await env.DB.batch([
    env.DB.prepare("DELETE FROM missed_schedule_reports"),
    env.DB.prepare("UPDATE backup_jobs SET next_due_at = ? WHERE id LIKE 'bench-due-%'").bind(Date.parse("2026-11-27T10:00:00Z")),
  ]);
}

async function measure(run: (db: D1Database) => Promise<unknown>, iterations: number, warmUp = true) {
  const times: number[] = [];
  const reads: number[] = [];
  await resetDueWork();
  if (warmUp) await run(env.DB); // warm-up, not measured: the first run compiles statements and loads modules
  for (let i = 0; i < iterations; i++) {
    await resetDueWork();
    const counts: D1Counts = { statements: 0, rowsRead: 0, rowsWritten: 0 };
    const start = Date.now();
    await run(countingD1(env.DB, counts));
    times.push(await elapsedMs(env.DB, start));
    reads.push(counts.rowsRead);
  }
  return { ms: median(times), rowsRead: median(reads) };
}

/** The Worker's every-minute tasks, as the cron trigger runs them, on a D1 that counts. */
const minuteTasks = (db: D1Database) =>
  Promise.all(CRON_TASKS.filter((t) => t.cron === CRON.everyMinute).map((t) => t.run({ ...env, DB: db }, NOW)));

/** Release 1's missed-schedule read: every enabled job, and each one's schedules over the window. */
async function releaseOneSweep(db: D1Database) {
  const windowEnd = new Date(NOW.getTime() - 30 * 60_000);
  const windowStart = new Date(windowEnd.getTime() - 6 * 3600_000);
  const { results } = await db.prepare("SELECT id, subscriber_id, agent_id, name, schedules, updated_at FROM backup_jobs WHERE is_enabled = 1").all<{ schedules: string; updated_at: number }>();
  let due = 0;
  for (const job of results) {
    const from = new Date(Math.max(windowStart.getTime(), job.updated_at));
    for (const s of JSON.parse(job.schedules) as { cronExpression: string }[]) due += scheduledTimes(s.cronExpression, from, windowEnd).length;
  }
  return due;
}

it("bench:sweeps", async () => {
  await env.DB.batch([
    env.DB.prepare("INSERT INTO subscribers (id, organisation_name, plan, created_at) VALUES ('bench-due-sub', 'Due', 'Ultimate', ?)").bind(CREATED),
    ...Array.from({ length: DUE_JOBS }, (_, k) =>
      env.DB.prepare(
        "INSERT INTO backup_jobs (id, subscriber_id, name, is_enabled, schedules, retention_days, encryption_enabled, next_due_at, created_at, updated_at) VALUES (?, 'bench-due-sub', ?, 1, ?, 7, 0, 0, ?, ?)",
      ).bind(`bench-due-${k}`, `Due ${k}`, SCHEDULES("0 10 * * *"), CREATED, CREATED),
    ),
  ]);
  const rows: Record<string, unknown>[] = [];
  let seeded = 0;
  for (const size of SIZES) {
    const seedStart = Date.now();
    await seedJobs(seeded, size);
    seeded = size;
    const seedMs = await elapsedMs(env.DB, seedStart);
    const minute = await measure(minuteTasks, ITERATIONS);
    const release1 = await measure(releaseOneSweep, 1, false); // seconds at 100,000 jobs: once is enough to compare
    rows.push({ jobs: size + DUE_JOBS, seedMs, "minute tasks ms": minute.ms, "minute tasks rows read": minute.rowsRead, "release 1 sweep ms": release1.ms, "release 1 rows read": release1.rowsRead });
  }
  for (const row of rows) console.log(JSON.stringify(row));
  const [small, large] = rows as Record<string, number>[];
  const ratio = (key: string) => (large[key] / Math.max(1, small[key])).toFixed(2);
  console.log(
    `100,000 vs 1,000 jobs, same due work (${DUE_JOBS} missed schedules): minute tasks time ×${ratio("minute tasks ms")}, rows read ×${ratio("minute tasks rows read")}; ` +
      `release 1's sweep: time ×${ratio("release 1 sweep ms")}, rows read ×${ratio("release 1 rows read")}`,
  );
});
