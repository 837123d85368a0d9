// One connection, one request at a time, each timed with performance.now() to the microsecond:
// autocannon's latencies are whole milliseconds, too coarse when a request takes a few of them.
import { Agent, request as httpRequest } from "node:http";

function get(agent, url, headers) {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent, headers }, (res) => {
      res.on("end", () => resolve(res.statusCode));
      res.resume();
    });
    req.on("error", () => resolve(0));
    req.end();
  });
}

/**
 * GETs `path` on one kept-alive socket until `duration` seconds pass or `requests` are done, whichever
 * is first; `headers()` gives each request's headers. Latencies in ms; `failed` counts non-2xx.
 */
export async function runSequential(baseUrl, path, { duration = Infinity, requests = Infinity, headers = () => ({}) }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(path, baseUrl);
  const latencies = [];
  let failed = 0;
  const started = performance.now();
  while (performance.now() - started < duration * 1000 && latencies.length < requests) {
    const sent = performance.now();
    const status = await get(agent, url, headers());
    latencies.push(performance.now() - sent);
    if (status < 200 || status > 299) failed++;
  }
  agent.destroy();
  return { requests: latencies.length, seconds: (performance.now() - started) / 1000, failed, latencies };
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
