// Starts a throw-away local server for benchmarks: `wrangler dev` on a free port (or BENCH_PORT), with its own D1/DO
// state in a temp dir (migrated first), its own secrets, and the quiet settings that give wrangler's
// proxy less of the CPU (X_LOCAL_OBSERVABILITY=false, --log-level error). `stop()` kills the whole
// process group and removes the state; it is also run on exit and on SIGINT/SIGTERM.
//
// The server runs a snapshot of the sources in a temp dir: `wrangler dev` reloads the Worker when a file
// changes (dropping every socket), so edits to the working tree during a run do not count. BENCH_REV=<git
// revision> takes the snapshot from that commit instead, to measure an older version the same way.
import { execFileSync, execSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
// The project's own wrangler (and so its workerd), whichever way this script is started.
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
// The agent's version is the one file of the agent the Worker imports (the release it offers agents).
const SERVED = ["src", "migrations", "wrangler.toml", "package.json", "tsconfig.json", "agent/src/version.ts"];

/** A copy of what the Worker is built from (the working tree's, or BENCH_REV's), with node_modules linked. */
function snapshotSources() {
  const dir = mkdtempSync(join(tmpdir(), "datasync-bench-src-"));
  const rev = process.env.BENCH_REV;
  const git = `git -C ${JSON.stringify(ROOT)}`;
  if (rev) {
    // An older revision may lack some of them (the agent's version file came later).
    const present = SERVED.filter((path) => spawnSync("git", ["-C", ROOT, "cat-file", "-e", `${rev}:${path}`]).status === 0);
    execSync(`${git} archive ${rev} ${present.join(" ")} | tar -x -C ${JSON.stringify(dir)}`);
  } else for (const path of SERVED) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  // wrangler.toml serves the dashboard from dist/assets and refuses to start without it; the API needs none of it.
  mkdirSync(join(dir, "dist/assets"), { recursive: true });
  return dir;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(baseUrl, child, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${baseUrl}/api/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error("server did not become healthy in time");
}

/** `vars`: extra Worker vars for this server (e.g. `{ ALLOW_LOCAL_WEBHOOKS: "true" }`), passed with `--var`. */
export async function startServer({ vars = {} } = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), "datasync-bench-"));
  const port = Number(process.env.BENCH_PORT) || (await freePort());
  const sources = snapshotSources();
  const secrets = {
    JWT_SECRET: randomBytes(48).toString("base64url"),
    ADMIN_TOKEN: randomBytes(32).toString("base64url"),
    ENCRYPTION_KEY: randomBytes(32).toString("base64"),
  };
  const env = { ...process.env, CI: "true", X_LOCAL_OBSERVABILITY: "false" };

  try {
    execFileSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], { cwd: sources, env, stdio: "ignore" });
  } catch (error) {
    for (const dir of [stateDir, sources]) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const child = spawn(
    WRANGLER,
    [
      "dev",
      "--ip", "127.0.0.1",
      "--port", String(port),
      "--persist-to", stateDir,
      "--log-level", "error",
      "--show-interactive-dev-session=false",
      ...Object.entries({ ...secrets, ...vars }).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    ],
    { cwd: sources, env, stdio: ["ignore", "ignore", "inherit"], detached: true },
  );

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      process.kill(-child.pid, "SIGTERM"); // the group: wrangler, its proxy and workerd
    } catch {
      // already gone
    }
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(sources, { recursive: true, force: true });
  };
  process.on("exit", stop);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      stop();
      process.exit(130);
    });
  }

  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(baseUrl, child);
  } catch (err) {
    stop();
    throw err;
  }
  const version = process.env.BENCH_REV ? ` at ${process.env.BENCH_REV}` : "";
  // pid: the process group (wrangler, its proxy, workerd), for benches that read its CPU time.
  return { baseUrl, adminToken: secrets.ADMIN_TOKEN, server: `wrangler dev (workerd, local D1 emulation)${version}`, pid: child.pid, stop };
}
