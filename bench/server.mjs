// Starts a throw-away local server for benchmarks: `wrangler dev` on a free port, with its own D1/DO
// state in a temp dir (migrated first), its own secrets, and the quiet settings that give wrangler's
// proxy less of the CPU (X_LOCAL_OBSERVABILITY=false, --log-level error). `stop()` kills the whole
// process group and removes the state; it is also run on exit and on SIGINT/SIGTERM.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// The project's own wrangler (and so its workerd), whichever way this script is started.
const WRANGLER = fileURLToPath(new URL("../node_modules/.bin/wrangler", import.meta.url));

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
  const port = await freePort();
  const secrets = {
    JWT_SECRET: randomBytes(48).toString("base64url"),
    ADMIN_TOKEN: randomBytes(32).toString("base64url"),
    ENCRYPTION_KEY: randomBytes(32).toString("base64"),
  };
  const env = { ...process.env, CI: "true", X_LOCAL_OBSERVABILITY: "false" };

  execFileSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], { env, stdio: "ignore" });
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
    { env, stdio: ["ignore", "ignore", "inherit"], detached: true },
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
  return { baseUrl, adminToken: secrets.ADMIN_TOKEN, server: "wrangler dev (workerd, local D1 emulation)", stop };
}
