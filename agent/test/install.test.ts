/**
 * The agent as a customer installs it: the tarball built by build:agent and served by `wrangler dev`,
 * installed into a temporary npm prefix by the served install script (the systemd unit written into a
 * temporary directory), enrolled, run with no engine configuration at all, and backing up the local
 * PostgreSQL and MariaDB it found by itself.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AGENT_VERSION } from "../src/version.ts";
import { signUp, startPlatform, type ApiClient, type LocalPlatform } from "../dev/local-platform.ts";
import { eventually as waitFor } from "./support/eventually.ts";
import { dropPostgresDatabase, mariadb, psql, scratchName } from "./support/databases.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const PORTS: [number, number] = [18700, 18799];
const run = promisify(execFile);

let dir: string;
let platform: LocalPlatform;
let user: ApiClient;
let prefix: string;
let stateDir: string;
let unitDir: string;
let agentId: string;
let agentProcess: ChildProcess | undefined;
let agentLog = "";
const pgDatabase = scratchName("ds_install_pg");
const mariaDatabase = scratchName("ds_install_maria");

/** Node 22 (the npm scripts' node) first on PATH, as on a customer's machine with Node 22 installed. */
const PATH = `${dirname(process.execPath)}:${process.env.PATH}`;
const agentBin = () => join(prefix, "bin", "datasync-agent");
const agentEnv = () => ({ ...process.env, PATH, DATASYNC_AGENT_STATE_DIR: stateDir });

function installed(args: string[]) {
  return run(agentBin(), args, { env: agentEnv(), cwd: dir });
}

function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs?: number): Promise<T> {
  return waitFor(probe, what, () => `Agent output:\n${agentLog.slice(-3000)}`, timeoutMs);
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

async function download(path: string): Promise<Buffer> {
  const response = await fetch(`${platform.url}${path}`);
  expect(response.status, path).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ds-install-"));
  prefix = join(dir, "prefix");
  stateDir = join(dir, "state");
  unitDir = join(dir, "systemd");
  await run(process.execPath, [join(ROOT, "scripts/build-agent.mjs")], { cwd: ROOT });
  platform = await startPlatform(join(dir, "platform"), { ports: PORTS });
  user = await signUp(platform);
  psql("postgres", `CREATE DATABASE "${pgDatabase}"`);
  psql(pgDatabase, "CREATE TABLE note (id int PRIMARY KEY, body text); INSERT INTO note SELECT g, 'note ' || g FROM generate_series(1, 100) g;");
  mariadb(`CREATE DATABASE \`${mariaDatabase}\``);
  mariadb("CREATE TABLE note (id INT PRIMARY KEY, body TEXT); INSERT INTO note VALUES (1, 'one'), (2, 'two');", mariaDatabase);
}, 300_000);

afterAll(async () => {
  if (agentProcess && agentProcess.exitCode === null) {
    const exited = new Promise((done) => agentProcess!.once("exit", done));
    agentProcess.kill("SIGTERM");
    await exited;
  }
  await platform?.stop();
  dropPostgresDatabase(pgDatabase);
  mariadb(`DROP DATABASE IF EXISTS \`${mariaDatabase}\``);
  await rm(dir, { recursive: true, force: true });
});

afterEach(({ task }) => {
  if (task.result?.state === "fail") console.error(`Agent output:\n${agentLog.slice(-4000)}\nPlatform output:\n${platform?.output().slice(-3000)}`);
});

describe("the agent as an installable product", () => {
  it("is served as a versioned and a stable tarball, each with its SHA-256 beside it", async () => {
    const versioned = await download(`/downloads/datasync-agent-${AGENT_VERSION}.tgz`);
    const stable = await download("/downloads/datasync-agent.tgz");
    expect(sha256(stable)).toBe(sha256(versioned));
    expect((await download(`/downloads/datasync-agent-${AGENT_VERSION}.tgz.sha256`)).toString()).toBe(`${sha256(versioned)}  datasync-agent-${AGENT_VERSION}.tgz\n`);
    expect((await download("/downloads/datasync-agent.tgz.sha256")).toString()).toBe(`${sha256(stable)}  datasync-agent.tgz\n`);
    expect(JSON.parse((await download("/downloads/latest.json")).toString())).toEqual({ version: AGENT_VERSION, file: `datasync-agent-${AGENT_VERSION}.tgz`, sha256: sha256(versioned) });

    const unpacked = join(dir, "unpacked");
    await mkdir(unpacked);
    await writeFile(join(dir, "agent.tgz"), versioned);
    await run("tar", ["xzf", join(dir, "agent.tgz"), "-C", unpacked]);
    const manifest = JSON.parse(await readFile(join(unpacked, "package/package.json"), "utf8"));
    expect(manifest).toMatchObject({ name: "datasync-agent", version: AGENT_VERSION, bin: { "datasync-agent": "bin/datasync-agent.mjs" }, dependencies: {}, engines: { node: ">=22.16" } });
    expect(manifest.devDependencies).toBeUndefined();
    const { stdout: files } = await run("tar", ["tzf", join(dir, "agent.tgz")]);
    expect(files.split("\n").filter((f) => f.endsWith(".ts"))).toEqual([]);
  });

  it("tells how to get Node.js 22 when the machine has none or an older one", async () => {
    const script = await fetch(`${platform.url}/install.sh`).then((r) => r.text());
    await writeFile(join(dir, "install.sh"), script);
    // Machines of their own: one with only a Node 20 on PATH, one with no node at all.
    const old = join(dir, "node20-bin");
    const none = join(dir, "no-node-bin");
    await mkdir(old);
    await mkdir(none);
    await writeFile(join(old, "node"), '#!/bin/sh\nif [ "$1" = --version ]; then echo v20.19.0; exit 0; fi\nexit 1\n', { mode: 0o755 });
    for (const bin of [old, none]) await symlink((await run("sh", ["-c", "command -v cat"])).stdout.trim(), join(bin, "cat"));
    const install = (bin: string, args = ["--token", "ds_reg_x"], env: Record<string, string> = {}) =>
      run("/bin/sh", [join(dir, "install.sh"), ...args], { env: { PATH: bin, HOME: dir, ...env } }).catch((error) => error);

    expect((await install(old, [])).stderr).toContain("datasync-agent install: no registration token.");
    // The token from the environment is enough to get past that check.
    expect((await install(old, [], { DATASYNC_REGISTRATION_TOKEN: "ds_reg_x" })).stderr).toContain("Node.js 22.16 or newer is required");

    const withOld = await install(old);
    expect(withOld.code).toBe(1);
    expect(withOld.stderr).toContain("Node.js 22.16 or newer is required (found v20.19.0)");
    expect(withOld.stderr).toContain("https://nodejs.org/en/download");
    const withNone = await install(none);
    expect(withNone.code).toBe(1);
    expect(withNone.stderr).toContain("Node.js 22.16 or newer is required (node is not on PATH)");
    expect(withNone.stderr).toContain("curl -fsSL https://deb.nodesource.com/setup_22.x | sudo -E bash - && sudo apt-get install -y nodejs");
  });

  it("installs with the one served command into a temporary prefix, enrolls and writes the systemd unit", async () => {
    // Exactly the command the platform hands out with a fresh token (the dashboard shows it).
    const { installCommand } = await user.ok<{ installCommand: string }>("POST", "/api/agent/registration-token", {});
    expect(installCommand).toMatch(new RegExp(`^curl -fsSL ${platform.url}/install\\.sh \\| sh -s -- --token ds_reg_\\S+$`));
    const command = `${installCommand} --name "Installed box"`;
    const { stdout } = await run("sh", ["-c", command], {
      cwd: dir,
      env: { ...process.env, PATH, NPM_CONFIG_PREFIX: prefix, DATASYNC_AGENT_STATE_DIR: stateDir, DATASYNC_AGENT_UNIT_DIR: unitDir },
    });
    expect(stdout).toMatch(/SHA-256 [0-9a-f]{64} checked/);
    expect(stdout).toContain(`installed ${AGENT_VERSION} as ${agentBin()}`);
    agentId = /Enrolled as agent ([0-9a-f-]{36})/.exec(stdout)![1];
    // Discovery at enrollment, with no agent.json anywhere.
    expect(stdout).toMatch(new RegExp(`local-postgresql \\(PostgreSql .*\\): .*\\b${pgDatabase}\\b`));
    expect(stdout).toMatch(new RegExp(`local-mariadb \\(MariaDb .*\\): .*\\b${mariaDatabase}\\b`));
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);

    const unit = await readFile(join(unitDir, "datasync-agent.service"), "utf8");
    for (const line of ["User=datasync", "Restart=always", "ProtectSystem=strict", "NoNewPrivileges=yes", "StateDirectory=datasync-agent", "StateDirectoryMode=0700", `ReadWritePaths=${stateDir}`]) {
      expect(unit).toContain(`${line}\n`);
    }
    expect(unit).toContain(`ExecStart=${process.execPath} --disable-warning=ExperimentalWarning ${agentBin()} run --state-dir ${stateDir}\n`);
  });

  it("runs without any engine configuration: the local PostgreSQL and MariaDB and their databases appear on the platform", async () => {
    agentProcess = spawn(agentBin(), ["run"], { env: agentEnv(), cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    agentProcess.stdout!.on("data", (text) => (agentLog += text));
    agentProcess.stderr!.on("data", (text) => (agentLog += text));
    type Detail = { isOnline: boolean; version: string; updateAvailable: boolean; displayName: string; engines: { engineKey: string; dbmsType: string; databases: { name: string }[] }[] };
    const detail = await eventually(async () => {
      const agent = await user.ok<Detail>("GET", `/api/agent/${agentId}`);
      const names = agent.engines.flatMap((engine) => engine.databases.map((d) => `${engine.engineKey}/${d.name}`));
      return agent.isOnline && names.includes(`local-postgresql/${pgDatabase}`) && names.includes(`local-mariadb/${mariaDatabase}`) ? agent : undefined;
    }, "the discovered engines on the platform");
    expect(detail).toMatchObject({ displayName: "Installed box", version: AGENT_VERSION, updateAvailable: false });
    expect(detail.engines.map((e) => [e.engineKey, e.dbmsType]).sort()).toEqual([["local-mariadb", "MariaDb"], ["local-postgresql", "PostgreSql"]]);
    const list = await user.ok<{ agentId: string; updateAvailable: boolean }[]>("GET", "/api/agent");
    expect(list.find((agent) => agent.agentId === agentId)?.updateAvailable).toBe(false);
  });

  it("backs up the discovered databases, and status shows the connection, the queue and the run", async () => {
    const databases = await user.ok<{ databaseId: string; name: string }[]>("GET", `/api/database?agentId=${agentId}`);
    const chosen = databases.filter((d) => d.name === pgDatabase || d.name === mariaDatabase);
    expect(chosen).toHaveLength(2);
    const destination = await user.ok<{ destinationId: string }>("POST", "/api/destination", { name: "Local disk", type: "LocalStorage", agentId, settings: { path: join(dir, "backups") } });
    const job = await user.ok<{ backupJobId: string }>("POST", "/api/backupjob", {
      name: "Discovered nightly",
      agentId,
      databaseIds: chosen.map((d) => d.databaseId),
      destinationIds: [destination.destinationId],
      retentionDays: 7,
      encryption: { enabled: false },
    });
    const { backupRunId } = await user.ok<{ backupRunId: string }>("POST", `/api/backupjob/${job.backupJobId}/run`, { backupMode: "Full" });
    const run = await eventually(async () => {
      const history = await user.ok<{ backupRunId: string; status: string; error: string | null }[]>("GET", `/api/backupjob/${job.backupJobId}/history`);
      const row = history.find((r) => r.backupRunId === backupRunId);
      return row && (row.status === "Success" || row.status === "Failed") ? row : undefined;
    }, "the backup run");
    expect(run).toMatchObject({ status: "Success", error: null });
    const files = await user.ok<{ fileName: string; fileSize: number }[]>("GET", `/api/backupfile?backupJobId=${job.backupJobId}`);
    expect(files.map((f) => f.fileName.split("_Full_")[0]).sort()).toEqual([mariaDatabase, pgDatabase].sort());
    for (const file of files) expect((await stat(join(dir, "backups", file.fileName))).size).toBe(file.fileSize);

    const status = await eventually(async () => {
      const { stdout } = await installed(["status"]);
      return /unconfirmed reports: 0\b/.test(stdout) && /Success/.test(stdout) ? stdout : undefined;
    }, "status to show the confirmed run");
    expect(status).toMatch(/connection: +connected since /);
    expect(status).toMatch(/local-postgresql \(PostgreSql .*\): .*/);
    expect(status).toMatch(/Last runs \(1\):\n +\S+ Discovered nightly Full Success, 2 file\(s\)/);
  });

  it("update: nothing to do at the served version; a newer release is installed only when its SHA-256 matches", async () => {
    expect((await installed(["update"])).stdout).toContain(`datasync-agent ${AGENT_VERSION} is the version ${platform.url} serves: nothing to update.`);

    const release = join(dir, "release");
    await run(process.execPath, [join(ROOT, "scripts/build-agent.mjs"), "--out", release, "--version", "99.0.0"], { cwd: ROOT });
    let tamper = true;
    const server: Server = createServer(async (request, response) => {
      const path = join(release, (request.url ?? "").replace(/^\/downloads\//, ""));
      if (!request.url?.startsWith("/downloads/") || !existsSync(path)) return void response.writeHead(404).end();
      const body = await readFile(path);
      response.writeHead(200).end(tamper && path.endsWith(".sha256") ? `${"0".repeat(64)}  x.tgz\n` : body);
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const releaseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const refused = await installed(["update", "--server", releaseUrl]).catch((error) => error);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/has SHA-256 [0-9a-f]{64}, but .* publishes 0{64}: nothing was installed/);
      expect((await installed(["--version"])).stdout.trim()).toBe(AGENT_VERSION);

      tamper = false;
      const { stdout } = await installed(["update", "--server", releaseUrl]);
      expect(stdout).toContain(`Installed datasync-agent 99.0.0 (was ${AGENT_VERSION}`);
      expect((await installed(["--version"])).stdout.trim()).toBe("99.0.0");
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it.skipIf(existsSync("/run/systemd/system"))("install-service without systemd says what to run instead; uninstall-service removes a unit", async () => {
    const { stdout } = await installed(["install-service"]);
    expect(stdout).toContain("systemd is not running on this machine, so no service was installed.");
    expect(stdout).toContain(`DATASYNC_AGENT_STATE_DIR=${stateDir} ${process.execPath} --disable-warning=ExperimentalWarning ${agentBin()} run`);
    const removed = await installed(["uninstall-service", "--unit-dir", unitDir]);
    expect(removed.stdout).toContain(`Removed ${join(unitDir, "datasync-agent.service")}.`);
    expect(existsSync(join(unitDir, "datasync-agent.service"))).toBe(false);
  });
});
