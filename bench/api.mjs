// `npm run bench:api`: the cost of an authenticated, rate-limited request against the health check
// (one trivial D1 query), measured in the same run on the same local server, as ratios.
//
// The machine is shared, so its load drifts: each measurement is split into BENCH_ROUNDS rounds and the
// endpoints take turns round by round. Throughput is all requests over all rounds' time. At 50 connections
// (autocannon) p50 and p99 are the means of the rounds'; a round must be long next to that latency
// (requests still in flight when a round ends are not counted): 5 s rounds are 25 × a busy p50 of 200 ms,
// and six of them spread a minute's drift over every endpoint alike (two rounds of 10 s left the
// 50-file page's ratio 20 points apart between runs). At 1 connection
// the requests are timed here, one at a time on one kept-alive socket, to the microsecond: autocannon's
// histogram counts whole milliseconds, too coarse when health's p50 is a few of them. p50 and p99 are
// then those of all the rounds' requests together.
//
// Env: BENCH_DURATION (seconds per measurement, default 30), BENCH_ROUNDS (default 6), BENCH_SUBSCRIBERS (Ultimate subscribers
// the authenticated load is spread over, one token each, default 40: enough that none reaches its
// 600/min even at the highest throughput measured here; the run fails if any request is not 2xx).
import autocannon from "autocannon";
import { measureListScale, seedBackups } from "./backups.mjs";
import { seedSubscribers } from "./seed.mjs";
import { percentile, runSequential } from "./sequential.mjs";
import { startServer } from "./server.mjs";

/** What is measured. The first is the baseline; adding an authenticated endpoint is one line. */
const ENDPOINTS = [
  { path: "/api/health", authenticated: false },
  { path: "/api/account", authenticated: true },
  { path: "/api/backupjob", authenticated: true },
  { path: "/api/backupfile", authenticated: true },
];
const CONNECTIONS = [1, 50];
const DURATION = Number(process.env.BENCH_DURATION ?? 30);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 40);
/** Targets for an authenticated endpoint against health (issue 18): its throughput at 50 connections, its p50 at 1. */
const MIN_THROUGHPUT = 0.7;
const MAX_P50_RATIO = 1.5;

/** Round-robin over the subscribers: the realistic shape of authenticated load, and no budget trips. */
function roundRobin(tokens) {
  let next = 0;
  return () => (tokens ? { authorization: `Bearer ${tokens[next++ % tokens.length]}` } : {});
}

async function runAutocannon(baseUrl, path, connections, duration, tokens) {
  const headers = roundRobin(tokens);
  const request = { method: "GET", path, setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...headers() } }) };
  const r = await autocannon({ url: baseUrl, connections, duration, requests: [request] });
  return { requests: r.requests.total, seconds: r.duration, failed: r.non2xx + r.errors + r.timeouts, p50: r.latency.p50, p99: r.latency.p99 };
}

const run = (baseUrl, path, connections, duration, tokens) =>
  connections === 1 ? runSequential(baseUrl, path, { duration, headers: roundRobin(tokens) }) : runAutocannon(baseUrl, path, connections, duration, tokens);

/** p50 and p99 of a measurement's rounds: of all their timed requests, else the mean of autocannon's. */
function latencyOf(runs) {
  if (runs[0].latencies) {
    const all = runs.flatMap((r) => r.latencies);
    return { p50: percentile(all, 0.5), p99: percentile(all, 0.99) };
  }
  const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
  return { p50: mean(runs.map((r) => r.p50)), p99: mean(runs.map((r) => r.p99)) };
}

const { baseUrl, adminToken, server, stop } = await startServer();
try {
  console.log(`server: ${server} at ${baseUrl}; seeding ${SUBSCRIBERS} Ultimate subscribers…`);
  // Three more for the backup-list scale check: 10 rows, 10,000 rows, and another tenant with as many.
  const seeded = await seedSubscribers(baseUrl, adminToken, { count: SUBSCRIBERS + 3, plan: "Ultimate" });
  const tokens = seeded.slice(0, SUBSCRIBERS).map((s) => s.token);
  const { small, large } = await seedBackups(baseUrl, seeded, SUBSCRIBERS);

  // Warm every isolate and limiter once so the first measurement does not pay for start-up.
  for (const { path, authenticated } of ENDPOINTS) await run(baseUrl, path, 10, 2, authenticated ? tokens : null);

  const results = [];
  let failures = 0;
  for (const connections of CONNECTIONS) {
    const rounds = ENDPOINTS.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, { path, authenticated }] of ENDPOINTS.entries()) {
        rounds[i].push(await run(baseUrl, path, connections, DURATION / ROUNDS, authenticated ? tokens : null));
      }
    }
    for (const [i, { path }] of ENDPOINTS.entries()) {
      const runs = rounds[i];
      const sum = (pick) => runs.reduce((total, r) => total + pick(r), 0);
      failures += sum((r) => r.failed);
      results.push({ path, connections, rps: sum((r) => r.requests) / sum((r) => r.seconds), ...latencyOf(runs), failed: sum((r) => r.failed) });
    }
  }

  const [baseline] = ENDPOINTS;
  const rows = results.map((r) => {
    const base = results.find((b) => b.path === baseline.path && b.connections === r.connections);
    return {
      endpoint: `GET ${r.path}`,
      conns: r.connections,
      "req/s": Math.round(r.rps),
      "p50 ms": r.p50.toFixed(2),
      "p99 ms": r.p99.toFixed(1),
      "req/s vs health": `${Math.round((100 * r.rps) / base.rps)} %`,
      "p50 vs health": `${(r.p50 / base.p50).toFixed(2)} ×`,
      failed: r.failed,
    };
  });
  console.log(`\n${DURATION} s per measurement in ${ROUNDS} rounds, ${SUBSCRIBERS} Ultimate subscribers for the authenticated load`);
  console.table(rows);

  let ok = failures === 0;
  const at = (path, connections) => results.find((r) => r.path === path && r.connections === connections);
  const maxConnections = Math.max(...CONNECTIONS);
  for (const { path } of ENDPOINTS.filter((e) => e.authenticated)) {
    const throughput = at(path, maxConnections).rps / at(baseline.path, maxConnections).rps;
    const latency = at(path, 1).p50 / at(baseline.path, 1).p50;
    const pass = throughput >= MIN_THROUGHPUT && latency <= MAX_P50_RATIO;
    ok &&= pass;
    console.log(
      `GET ${path}: ${Math.round(throughput * 100)} % of health's throughput at ${maxConnections} connections (target ≥ ${MIN_THROUGHPUT * 100} %), ` +
        `p50 at 1 connection ${latency.toFixed(2)} × health's (target ≤ ${MAX_P50_RATIO}) → ${pass ? "PASS" : "FAIL"}`,
    );
  }
  const listsScale = await measureListScale(baseUrl, { small, large });
  ok &&= listsScale;
  if (failures > 0) console.log(`${failures} requests were not 2xx or failed: raise BENCH_SUBSCRIBERS if they were 429s.`);
  process.exitCode = ok ? 0 : 1;
} finally {
  stop();
}
