// `npm run bench:webhooks`: webhook events through the real local queue of a throw-away `wrangler dev`
// to a receiver on 127.0.0.1 that verifies every signature with the independent `standardwebhooks`
// package. Reports deliveries per second as a ratio to a baseline measured in the same run on the same
// server (authenticated GET /api/webhook, one D1 read, at the same concurrency), and checks that no
// event id is lost or delivered twice: with a healthy receiver, and with one that fails 20 % of
// requests at random. Retries start after 1 s here instead of 1 min (then ×5 each time), so an event
// that fails 4 times in a row waits 2 more minutes, 5 times 10 more (a fraction of runs).
//
// Env: BENCH_EVENTS (events per scenario, default 400), BENCH_SUBSCRIBERS (Ultimate subscribers the
// events are spread over, default 6: the test endpoint counts against each one's 600 requests/min),
// BENCH_DEADLINE (seconds to wait for the last delivery of a scenario, default 900).
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";
import { seedSubscribers } from "./seed.mjs";
import { startServer } from "./server.mjs";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 400);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 6);
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE ?? 900) * 1000;
const SENDERS = 20;
/** After the last expected delivery, keep listening this long for late duplicates. */
const SETTLE_MS = 5000;
const SCENARIOS = [
  { name: "healthy receiver", failRate: 0 },
  { name: "receiver failing 20 % of requests", failRate: 0.2 },
];

/** The receiver: one path per webhook, each verified with that webhook's secret. */
function startReceiver() {
  const hooks = new Map(); // path → { verifier, delivered: Map<eventId, successful deliveries> }
  const stats = { requests: 0, failedOnPurpose: 0, badSignatures: 0, failRate: 0 };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      stats.requests++;
      const hook = hooks.get(req.url);
      try {
        hook.verifier.verify(Buffer.concat(chunks).toString("utf8"), req.headers);
      } catch {
        stats.badSignatures++;
        res.writeHead(400).end();
        return;
      }
      if (Math.random() < stats.failRate) {
        stats.failedOnPurpose++;
        res.writeHead(503).end();
        return;
      }
      const id = req.headers["webhook-id"];
      hook.delivered.set(id, (hook.delivered.get(id) ?? 0) + 1);
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve({ port: server.address().port, hooks, stats, close: () => server.close() }));
  });
}

async function call(baseUrl, path, { method = "GET", token, json } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (json !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
  return { body: await res.json(), headers: res.headers };
}

/** `count` calls of `request(i)`, `SENDERS` at a time; returns calls per second. */
async function callsPerSecond(count, request) {
  const started = performance.now();
  let next = 0;
  const sender = async () => {
    while (next < count) await request(next++);
  };
  await Promise.all(Array.from({ length: SENDERS }, sender));
  return count / ((performance.now() - started) / 1000);
}

/** Every delivery the platform recorded for a webhook, read back through the deliveries API. */
async function recordedDeliveries(baseUrl, { token, webhookId }) {
  const deliveries = [];
  for (let page = 1; ; page++) {
    const { body, headers } = await call(baseUrl, `/api/webhook/${webhookId}/deliveries?page=${page}&pageSize=200`, { token });
    deliveries.push(...body);
    if (body.length === 0 || deliveries.length >= Number(headers.get("x-total-count"))) return deliveries;
  }
}

async function runScenario(baseUrl, receiver, subscribers, { name, failRate }, index) {
  // Fresh webhooks per scenario, so each one's deliveries are counted on their own.
  const targets = [];
  for (const [i, s] of subscribers.entries()) {
    const path = `/hook/${index}/${i}`;
    const { body } = await call(baseUrl, "/api/webhook", {
      method: "POST",
      token: s.token,
      json: { url: `http://127.0.0.1:${receiver.port}${path}`, events: ["backup.success"] },
    });
    receiver.hooks.set(path, { verifier: new Webhook(body.secret), delivered: new Map() });
    targets.push({ token: s.token, webhookId: body.webhookId, path });
  }
  receiver.stats.failRate = failRate;
  const before = { ...receiver.stats };

  const started = performance.now();
  const acceptedPerSecond = await callsPerSecond(EVENTS, (i) => {
    const target = targets[i % targets.length];
    return call(baseUrl, `/api/webhook/${target.webhookId}/test`, { method: "POST", token: target.token });
  });
  const uniqueDelivered = () => targets.reduce((n, t) => n + receiver.hooks.get(t.path).delivered.size, 0);
  while (uniqueDelivered() < EVENTS && performance.now() - started < DEADLINE_MS) await new Promise((r) => setTimeout(r, 50));
  const finished = performance.now();
  await new Promise((r) => setTimeout(r, SETTLE_MS));

  let recorded = 0;
  let duplicated = 0;
  const lost = [];
  for (const t of targets) {
    const delivered = receiver.hooks.get(t.path).delivered;
    const deliveries = await recordedDeliveries(baseUrl, t);
    recorded += deliveries.length;
    lost.push(...deliveries.filter((d) => !delivered.has(d.eventId)));
    duplicated += [...delivered.values()].filter((count) => count > 1).length;
  }
  for (const d of lost) console.log(`  not received: ${JSON.stringify(d)}`);
  return {
    scenario: name,
    events: EVENTS,
    "recorded deliveries": recorded,
    "receiver requests": receiver.stats.requests - before.requests,
    "failed on purpose": receiver.stats.failedOnPurpose - before.failedOnPurpose,
    "bad signatures": receiver.stats.badSignatures - before.badSignatures,
    lost: lost.length,
    duplicated,
    "events accepted/s": Math.round(acceptedPerSecond),
    "deliveries/s": Math.round(uniqueDelivered() / ((finished - started) / 1000)),
    "all delivered after s": ((finished - started) / 1000).toFixed(1),
  };
}

const receiver = await startReceiver();
const { baseUrl, adminToken, server, stop } = await startServer({ vars: { ALLOW_LOCAL_WEBHOOKS: "true", WEBHOOK_FIRST_RETRY_SECONDS: "1" } });
try {
  console.log(`server: ${server} at ${baseUrl}; receiver on 127.0.0.1:${receiver.port}; seeding ${SUBSCRIBERS} Ultimate subscribers…`);
  const subscribers = await seedSubscribers(baseUrl, adminToken, { count: SUBSCRIBERS, plan: "Ultimate" });
  const baseline = await callsPerSecond(EVENTS, (i) => call(baseUrl, "/api/webhook", { token: subscribers[i % SUBSCRIBERS].token }));
  const rows = [];
  for (const [i, scenario] of SCENARIOS.entries()) {
    console.log(`${scenario.name}: ${EVENTS} events…`);
    rows.push(await runScenario(baseUrl, receiver, subscribers, scenario, i));
  }
  console.table(rows);
  const ratio = (value) => `${Math.round((100 * value) / baseline)} %`;
  console.log(`baseline: authenticated GET /api/webhook, ${SENDERS} concurrent callers: ${Math.round(baseline)} req/s`);
  for (const r of rows) {
    console.log(`${r.scenario}: events accepted at ${ratio(r["events accepted/s"])} of the baseline rate, delivered at ${ratio(r["deliveries/s"])}`);
  }
  const ok = rows.every((r) => r.lost === 0 && r.duplicated === 0 && r["bad signatures"] === 0 && r["recorded deliveries"] === EVENTS);
  console.log(ok ? "PASS: every event delivered exactly once, every signature verified" : "FAIL: see lost / duplicated / bad signatures above");
  process.exitCode = ok ? 0 : 1;
} finally {
  stop();
  receiver.close();
}
