// Fan-out benchmark: N simulated agents (Node 22 WebSocket clients) enroll through the real API and hold
// their sockets against a local server; we report how many it holds, the memory workerd takes for them,
// and the round trip from an API call that enqueues a command to the agent receiving it, next to a
// baseline (GET /api/health) measured in the same run on the same server.
//
// Each round trip is measured twice with the 1,000 agents connected: quiet, and busy, while a load
// generator (autocannon in its own process, BUSY_CONNECTIONS connections on GET /api/health, one D1 query
// each) keeps the same server and its D1 occupied.
//
//   npm run bench:agents                      # 1,000 agents
//   AGENTS=200 SAMPLES=100 npm run bench:agents
import { execFileSync, spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { call, seedSubscribers } from "./seed.mjs";
import { startServer } from "./server.mjs";

const AGENTS = Number(process.env.AGENTS ?? 1000);
const SAMPLES = Number(process.env.SAMPLES ?? 200);
/** Agents per subscriber: the registration-token calls of one subscriber stay under its plan's rate. */
const AGENTS_PER_SUBSCRIBER = 100;
const CONNECT_BATCH = 50;
/** Long enough for idle Durable Objects to hibernate (~10 s) before the round trips are measured. */
const SETTLE_MS = 15_000;
const PING_FRAME = '{"type":"ping"}';
const BUSY_CONNECTIONS = Number(process.env.BUSY_CONNECTIONS ?? 10);
const AUTOCANNON = fileURLToPath(new URL("../node_modules/.bin/autocannon", import.meta.url));

/** Runs `measure` while autocannon loads the server from another process. */
async function underLoad(baseUrl, measure) {
  const load = spawn(AUTOCANNON, ["-c", String(BUSY_CONNECTIONS), "-d", "3600", `${baseUrl}/api/health`], { stdio: "ignore" });
  const exited = new Promise((resolve) => load.once("exit", resolve));
  await sleep(2000); // let the load ramp up
  try {
    return await measure();
  } finally {
    load.kill("SIGKILL");
    await exited;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Enrolls one agent the way an installer does; each from its own address (register is limited per IP). */
async function enroll(baseUrl, subscriber, index) {
  const { registrationToken } = await call(baseUrl, "/api/agent/registration-token", { method: "POST", token: subscriber.token });
  const clientIp = `198.19.${index >> 8}.${index & 255}`;
  const { agentId, agentToken } = await call(baseUrl, "/api/agent/register", {
    method: "POST",
    json: { registrationToken, hostname: `bench-host-${index}`, operatingSystem: "Linux", version: "bench" },
    clientIp,
  });
  return { agentId, agentToken, subscriber };
}

/** A simulated agent: acks every command, pings every 30 s, and wakes whoever waits for a command. */
function connect(baseUrl, agent) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${baseUrl.replace("http", "ws")}/api/agent/connect`, { headers: { authorization: `Bearer ${agent.agentToken}` } });
    const timer = setTimeout(() => reject(new Error("no welcome within 30 s")), 30_000);
    agent.ws = ws;
    agent.onCommand = null;
    ws.onerror = () => reject(new Error("connect failed"));
    ws.onclose = (event) => {
      agent.closed = event.code;
      clearTimeout(agent.pinger); // Node clears intervals and timeouts alike
    };
    ws.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "welcome") {
        clearTimeout(timer);
        // Real agents connect at different times: spread the pings instead of sending them in batches.
        agent.pinger = setTimeout(() => {
          ws.send(PING_FRAME);
          agent.pinger = setInterval(() => ws.send(PING_FRAME), 30_000);
        }, Math.random() * 30_000);
        resolve(agent);
      } else if (frame.type === "command") {
        const at = performance.now();
        ws.send(JSON.stringify({ type: "ack", id: frame.id }));
        agent.onCommand?.(at);
      }
    };
  });
}

/**
 * RSS of our server's workerd processes (the runtime that holds the sockets and Durable Objects), in
 * MiB: those in the process group of the wrangler listening on our port (others may run their own).
 */
function workerdRssMiB(port) {
  const rows = execFileSync("ps", ["-eo", "pid=,pgid=,rss=,comm=,args="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .map(([pid, pgid, rss, comm, ...args]) => ({ pid, pgid, rss: Number(rss), comm, args: args.join(" ") }));
  const wrangler = rows.find((r) => r.args.includes("wrangler") && r.args.includes(`--port ${port}`));
  return rows.filter((r) => r.comm === "workerd" && r.pgid === wrangler?.pgid).reduce((sum, r) => sum + r.rss, 0) / 1024;
}

function percentiles(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return { p50: at(50), p90: at(90), p99: at(99), n: sorted.length };
}

async function measureHealth(baseUrl, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call(baseUrl, "/api/health");
    times.push(performance.now() - t0);
  }
  return percentiles(times);
}

/** One at a time: POST inventory-request for a random agent → the agent receives the command. */
async function measureRoundTrip(baseUrl, connected, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const agent = connected[Math.floor(Math.random() * connected.length)];
    let timer;
    const received = new Promise((resolve, reject) => {
      agent.onCommand = resolve;
      timer = setTimeout(() => reject(new Error(`agent ${agent.agentId} (socket ${agent.closed ? `closed ${agent.closed}` : "open"}) got no command within 10 s`)), 10_000);
    });
    const t0 = performance.now();
    await call(baseUrl, `/api/agent/${agent.agentId}/inventory-request`, { method: "POST", token: agent.subscriber.token });
    const at = await received;
    clearTimeout(timer);
    agent.onCommand = null;
    times.push(at - t0);
  }
  return percentiles(times);
}

const fmt = ({ p50, p90, p99, n }) => `p50 ${p50.toFixed(1)} ms, p90 ${p90.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (n=${n})`;

const { baseUrl, adminToken, server, stop } = await startServer();
try {
  console.log(`server: ${server} at ${baseUrl}; target ${AGENTS} agents`);
  const subscribers = await seedSubscribers(baseUrl, adminToken, { count: Math.ceil(AGENTS / AGENTS_PER_SUBSCRIBER), plan: "Ultimate" });

  const enrollStart = performance.now();
  const agents = [];
  for (let start = 0; start < AGENTS; start += CONNECT_BATCH) {
    const batch = Array.from({ length: Math.min(CONNECT_BATCH, AGENTS - start) }, (_, i) =>
      enroll(baseUrl, subscribers[Math.floor((start + i) / AGENTS_PER_SUBSCRIBER)], start + i),
    );
    agents.push(...(await Promise.all(batch)));
  }
  console.log(`enrolled ${agents.length} agents through the API in ${((performance.now() - enrollStart) / 1000).toFixed(1)} s`);

  // Baseline: a handful of agents connected.
  const few = [];
  for (const agent of agents.slice(0, 10)) few.push(await connect(baseUrl, agent));
  console.log(`baseline with ${few.length} agents connected…`);
  await sleep(SETTLE_MS);
  const port = new URL(baseUrl).port;
  const rssFew = workerdRssMiB(port);
  const healthFew = await measureHealth(baseUrl, SAMPLES);
  const rttFew = await measureRoundTrip(baseUrl, few, SAMPLES);

  console.log(`baseline done; connecting the rest…`);
  const connectStart = performance.now();
  const connected = [...few];
  let failures = 0;
  for (let start = few.length; start < agents.length; start += CONNECT_BATCH) {
    const results = await Promise.allSettled(agents.slice(start, start + CONNECT_BATCH).map((a) => connect(baseUrl, a)));
    for (const r of results) r.status === "fulfilled" ? connected.push(r.value) : failures++;
  }
  console.log(`connected ${connected.length}/${agents.length} in ${((performance.now() - connectStart) / 1000).toFixed(1)} s (${failures} failed)`);
  await sleep(SETTLE_MS);
  const open = connected.filter((a) => !a.closed);
  const closeCodes = Object.groupBy(connected.filter((a) => a.closed), (a) => a.closed);
  if (open.length < connected.length) console.log("closed while idle, by code:", Object.fromEntries(Object.entries(closeCodes).map(([k, v]) => [k, v.length])));
  const rssMany = workerdRssMiB(port);
  const healthMany = await measureHealth(baseUrl, SAMPLES);
  const rttMany = await measureRoundTrip(baseUrl, open, SAMPLES);
  // The same agent every time: its Durable Object stays awake, which isolates the cost of waking one.
  const rttWarm = await measureRoundTrip(baseUrl, open.slice(-1), SAMPLES);
  const busy = await underLoad(baseUrl, async () => ({ health: await measureHealth(baseUrl, SAMPLES), rtt: await measureRoundTrip(baseUrl, open, SAMPLES) }));
  const stillOpen = connected.filter((a) => !a.closed).length;

  console.log("");
  console.log(`sockets held at once: ${stillOpen} of ${AGENTS} (after ${SETTLE_MS / 1000} s idle and the measurements)`);
  console.log(`workerd RSS: ${rssFew.toFixed(0)} MiB with ${few.length} agents, ${rssMany.toFixed(0)} MiB with ${open.length} → ${(((rssMany - rssFew) * 1024) / Math.max(1, open.length - few.length)).toFixed(0)} KiB per extra agent`);
  console.log(`GET /api/health (baseline)            ${few.length} agents: ${fmt(healthFew)}`);
  console.log(`API call → command at the agent      ${few.length} agents: ${fmt(rttFew)}  (p50 ${(rttFew.p50 / healthFew.p50).toFixed(1)}× health)`);
  console.log(`GET /api/health (baseline)         ${open.length} agents: ${fmt(healthMany)}`);
  console.log(`API call → command at the agent   ${open.length} agents: ${fmt(rttMany)}  (p50 ${(rttMany.p50 / healthMany.p50).toFixed(1)}× health)`);
  console.log(`  …always the same agent (awake)   ${open.length} agents: ${fmt(rttWarm)}  (p50 ${(rttWarm.p50 / healthMany.p50).toFixed(1)}× health)`);
  console.log(`busy (autocannon ${BUSY_CONNECTIONS} connections on /api/health beside):`);
  console.log(`GET /api/health (baseline)         ${open.length} agents: ${fmt(busy.health)}`);
  console.log(`API call → command at the agent   ${open.length} agents: ${fmt(busy.rtt)}  (p50 ${(busy.rtt.p50 / busy.health.p50).toFixed(1)}×, p99 ${(busy.rtt.p99 / busy.health.p99).toFixed(1)}× health)`);
  console.log(`round trip p99 with ${open.length} agents vs ${few.length}: ${(rttMany.p99 / rttFew.p99).toFixed(2)}×; target p99 ≤ 50 ms: quiet ${rttMany.p99 <= 50 ? "met" : "missed"}, busy ${busy.rtt.p99 <= 50 ? "met" : "missed"}`);
  for (const agent of connected) agent.ws.close();
} finally {
  try {
    stop();
  } catch (error) {
    // workerd may still be writing its state while it shuts down; the temp dir is then left behind.
    console.error(`server stopped; its state dir was not fully removed: ${error.message}`);
  }
}
process.exit(0);
