// `npm run dev`: the Worker (API, /docs, dashboard assets) under `wrangler dev` on :8787, and Vite
// rebuilding the dashboard into dist/assets on every change (`vite build --watch`); wrangler serves
// the new files on the next page load. Extra arguments go to wrangler dev (e.g. `npm run dev -- --port 8788`).
// Both stop together on Ctrl-C.
import { spawn } from "node:child_process";

const children = [
  spawn("vite", ["build", "--watch", "--config", "web/vite.config.ts", "--logLevel", "warn"], { stdio: "inherit" }),
  spawn("wrangler", ["dev", ...process.argv.slice(2)], { stdio: "inherit" }),
];
let stopping = false;
const stop = (code = 0) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  process.exitCode = code;
};
for (const child of children) child.on("exit", (code) => stop(code ?? 0));
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
