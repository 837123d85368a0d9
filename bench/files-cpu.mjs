// `node bench/files-cpu.mjs`: the server's CPU time per request (wrangler's processes and workerd, read
// from /proc, split by process) for GET /api/backupfile with 50 files a page and with 1, next to
// /api/backupjob and /api/health, so the per-row part of a file page shows apart from authentication.
// CPU time is what bounds throughput at 50 connections, and the machine's load barely moves it.
// Linux only. Env: BENCH_CPU_REQUESTS (per variant and round, default 300), BENCH_CPU_ROUNDS (default 3).
import { readFileSync, readdirSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import autocannon from "autocannon";
import { seedBackups } from "./backups.mjs";
import { seedSubscribers } from "./seed.mjs";
import { startServer } from "./server.mjs";

const REQUESTS = Number(process.env.BENCH_CPU_REQUESTS ?? 300);
const ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 3);
const IN_FLIGHT = 8;
const LOAD = 12;
const VARIANTS = [
  ["GET /api/health", "/api/health", false],
  ["GET /api/backupjob", "/api/backupjob", true],
  ["GET /api/backupfile (50 files)", "/api/backupfile", true],
  ["GET /api/backupfile?pageSize=1", "/api/backupfile?pageSize=1", true],
];
const TICK_MS = 1000 / 100; // USER_HZ

/** CPU ms so far of each process in the group, keyed by its command name (workerd, node…). */
function groupCpu(pgid) {
  const byName = {};
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue;
    }
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== pgid) continue;
    byName[name] = (byName[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  }
  return byName;
}

function get(agent, url, headers) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, headers }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode}`));
      res.on("end", resolve);
      res.resume();
    });
    req.on("error", reject);
    req.end();
  });
}

async function load(baseUrl, path, tokens) {
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      await get(agent, new URL(path, baseUrl), tokens ? { authorization: `Bearer ${tokens[i % tokens.length]}` } : {});
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  agent.destroy();
}

/** The same load through autocannon, as bench:api drives it (its own CPU is the client's share). */
async function autocannonLoad(baseUrl, path, tokens) {
  let next = 0;
  const r = await autocannon({
    url: `${baseUrl}${path}`,
    connections: IN_FLIGHT,
    amount: REQUESTS,
    requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...(tokens ? { authorization: `Bearer ${tokens[next++ % tokens.length]}` } : {}) } }) }],
  });
  if (r.non2xx + r.errors > 0) throw new Error(`${path}: ${r.non2xx} non-2xx, ${r.errors} errors`);
}

const { baseUrl, adminToken, pid, stop } = await startServer();
try {
  const seeded = await seedSubscribers(baseUrl, adminToken, { count: LOAD + 3, plan: "Ultimate" });
  await seedBackups(baseUrl, seeded, LOAD);
  const tokens = seeded.slice(0, LOAD).map((s) => s.token);
  for (const [, path, auth] of VARIANTS) await load(baseUrl, path, auth ? tokens : null); // warm-up
  const totals = VARIANTS.map(() => ({}));
  const clientMs = VARIANTS.map(() => 0);
  const cpuMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, [, path, auth]] of VARIANTS.entries()) {
      const before = groupCpu(pid);
      const clientBefore = cpuMs();
      await autocannonLoad(baseUrl, path, auth ? tokens : null);
      clientMs[i] += cpuMs() - clientBefore;
      const after = groupCpu(pid);
      for (const name of Object.keys(after)) totals[i][name] = (totals[i][name] ?? 0) + after[name] - (before[name] ?? 0);
    }
  }
  const perRequest = totals.map((t) => Object.fromEntries(Object.entries(t).map(([n, ms]) => [n, ms / (REQUESTS * ROUNDS)])));
  const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
  const health = sum(perRequest[0]);
  console.log(`server CPU ms per request (${ROUNDS} rounds × ${REQUESTS}, ${IN_FLIGHT} in flight; load average ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]})`);
  for (const [i, [name]] of VARIANTS.entries()) {
    const parts = Object.entries(perRequest[i]).filter(([, ms]) => ms > 0.05).map(([n, ms]) => `${n} ${ms.toFixed(2)}`).join(", ");
    const client = clientMs[i] / (REQUESTS * ROUNDS);
    console.log(`${name.padEnd(34)} ${sum(perRequest[i]).toFixed(2)} ms (${(sum(perRequest[i]) / health).toFixed(2)} × health)  [${parts}]; autocannon (client) ${client.toFixed(2)} ms`);
  }
} finally {
  stop();
}
