#!/usr/bin/env node
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { hostname, release, type } from "node:os";
import { resolve } from "node:path";
import { parseArgs, promisify, type ParseArgsConfig } from "node:util";
import { Agent } from "./agent.ts";
import { AgentConfig, ConfigError, loadConfig } from "./config.ts";
import { apiUrl } from "./connection.ts";
import { resolveEngines } from "./discovery.ts";
import { collectInventory, prepareEngines } from "./engines/index.ts";
import { isRunning, LiveStatusFile, readLiveStatus } from "./live-status.ts";
import { restoreBackup } from "./restore.ts";
import { Scheduler } from "./scheduler.ts";
import { hasSystemd, installService, SERVICE_CONFIG, SERVICE_NAME, SERVICE_STATE_DIR, SYSTEM_UNIT_DIR, uninstallService } from "./service.ts";
import { installedPrefix, updateAgent } from "./update.ts";
import { AgentStore, defaultStateDir, identityExists, loadIdentity, saveIdentity, StateError } from "./state.ts";
import { AGENT_VERSION } from "./version.ts";

/** A problem the user can fix: printed as one line, never with a stack trace. */
class UsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

const COMMON_OPTIONS = {
  "state-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

const HELP: Record<string, string> = {
  main: `datasync-agent ${AGENT_VERSION}: backs up databases on this machine for DataSync.

Usage: datasync-agent <command> [options]

Commands:
  enroll   Register this machine with DataSync using a registration token
  run      Connect to DataSync and run backups until stopped
  status   Show the connection, engines, jobs, unsent reports and last runs
  restore  Decrypt, decompress, verify and restore a backup file
  install-service    Run the agent as a systemd service (dedicated user, hardened)
  uninstall-service  Remove that service
  update   Install the agent version the platform serves
  forget-host  Forget a remembered SFTP host key (after the server's key really changed)

Run "datasync-agent <command> --help" for a command's options.
State lives in --state-dir (default: $DATASYNC_AGENT_STATE_DIR or ~/.datasync-agent).`,
  enroll: `Usage: datasync-agent enroll --server URL --token REG [--name NAME] [--state-dir DIR] [--force] [--config FILE]

Registers this machine with the DataSync platform at URL using a one-time registration token
(POST /api/agent/register), stores the agent id and token in the state directory (files mode 0600)
and lists the database engines and databases it finds on this machine.

  --server URL     The platform's base URL, e.g. https://api.data-sync.co.uk or http://localhost:8787
  --token REG      The registration token from POST /api/agent/registration-token
  --name NAME      Display name shown on the platform (default: none, the hostname is shown)
  --state-dir DIR  Where to keep the agent's state
  --force          Replace an existing enrollment in the state directory
  --config FILE    agent.json with discovery logins and extra engines (default as for "run")`,
  run: `Usage: datasync-agent run [--config FILE] [--state-dir DIR]

Connects to the platform and works until stopped (Ctrl-C or SIGTERM): reports the databases it finds,
receives jobs and credentials, runs scheduled and manual backups and reports them. Reports wait on disk
until the platform confirms them; the connection is retried with backoff.

Local PostgreSQL, MariaDB/MySQL (their sockets and 127.0.0.1) are found without any configuration;
agent.json adds engines, logins for discovery and folders to search for SQLite files.

  --config FILE    Engines and options (default: $DATASYNC_AGENT_CONFIG or ./agent.json when present;
                   see agent/agent.example.json)
  --state-dir DIR  The state directory written by "enroll"`,
  status: `Usage: datasync-agent status [--state-dir DIR]

Shows the enrollment, whether the running agent is connected, the engines it reported, the jobs it
holds with their schedules and next runs, the reports not yet confirmed by the platform (the queue)
and the last runs.`,
  "install-service": `Usage: datasync-agent install-service [--state-dir DIR] [--writable PATH]... [--unit-dir DIR]

Writes /etc/systemd/system/${SERVICE_NAME}.service and starts it: "datasync-agent run" as the system
user "datasync", restarted always, with NoNewPrivileges, ProtectSystem=strict and its state directory
(default /var/lib/${SERVICE_NAME}) mode 0700. Needs root. Without systemd it prints what to run instead.
Engines and options go in ${SERVICE_CONFIG}.

  --state-dir DIR   The enrolled state the service uses (default: $DATASYNC_AGENT_STATE_DIR or
                    /var/lib/${SERVICE_NAME})
  --writable PATH   A folder the service may write, e.g. a LocalStorage destination (repeatable)
  --unit-dir DIR    Only write the unit file into DIR (or $DATASYNC_AGENT_UNIT_DIR): no user is created,
                    systemctl is not called`,
  "uninstall-service": `Usage: datasync-agent uninstall-service [--unit-dir DIR]

Stops and removes the systemd service. The state directory and the enrollment are kept.`,
  update: `Usage: datasync-agent update [--server URL] [--prefix DIR] [--force] [--state-dir DIR]

Downloads the agent the platform serves (/downloads/latest.json), checks its SHA-256 and installs it
with npm into the prefix this agent is installed in; restarts the service when there is one.

  --server URL   The platform (default: the one this agent is enrolled with)
  --prefix DIR   npm prefix to install into (default: this installation's)
  --force        Reinstall even when this is already the served version`,
  "forget-host": `Usage: datasync-agent forget-host HOST:PORT [--state-dir DIR]

SFTP destinations trust a server's host key on first use and refuse a different key later (a sign of
an attack or of a reinstalled server). After checking that the server's key really changed, forget
the old one; the next backup remembers the new key.`,
  restore: `Usage: datasync-agent restore --file PATH --to TARGET [--passphrase TEXT] [--checksum sha256:HEX] [--until TIME]

Verifies the file's SHA-256 (against --checksum or the PATH.sha256 file written beside every backup),
then decrypts (.enc), decompresses (.gz/.zst) and restores it. A physical backup (….tar.gz) is restored
with the chain it builds on, found beside it: its Full, then its Differential, then the logs in order.

  --file PATH         The backup file, e.g. app_Full_20260326_020000.dump.gz.enc
  --to TARGET         postgres://user:pass@host:5432/newdb (pg_restore or psql),
                      mysql://user:pass@host:3306/newdb or mariadb://… (mysql client),
                      or a file path: the decoded dump, or for SQLite backups the restored database
  --passphrase TEXT   The job's encryption passphrase (or set DATASYNC_BACKUP_PASSPHRASE)
  --checksum SHA      The checksum the platform lists for the file (GET /api/backupfile)
  --until TIME        Physical chains: replay the logs up to this time (ISO 8601, e.g.
                      2026-03-26T14:30:00Z), not to their end (point-in-time restore)`,
};

function parse<O extends ParseArgsConfig["options"]>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]} (see --help)`);
  }
}

function required(value: string | boolean | undefined, name: string): string {
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required (see --help).`);
  return value;
}

function stateDirOf(values: { "state-dir"?: string | boolean }): string {
  return resolve(typeof values["state-dir"] === "string" ? values["state-dir"] : defaultStateDir());
}

/** --config must exist; the default ($DATASYNC_AGENT_CONFIG or ./agent.json) is optional: discovery alone works. */
async function configOf(values: { config?: string | boolean }): Promise<AgentConfig> {
  if (typeof values.config === "string") return loadConfig(resolve(values.config));
  const path = resolve(process.env.DATASYNC_AGENT_CONFIG || "agent.json");
  return existsSync(path) ? loadConfig(path) : AgentConfig.parse({});
}

/** The script this process runs (npm's bin link or a checkout's file), for the service and its advice. */
function ownScript(): string {
  return resolve(process.argv[1] ?? "datasync-agent");
}

async function enroll(args: string[]): Promise<number> {
  const values = parse(args, { server: { type: "string" }, token: { type: "string" }, name: { type: "string" }, force: { type: "boolean" }, config: { type: "string" } });
  if (values.help) return help("enroll");
  const server = required(values.server, "server").replace(/\/+$/, "");
  const token = required(values.token, "token");
  const stateDir = stateDirOf(values);
  let url: URL;
  try {
    url = apiUrl(server, "/api/agent/register");
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
  } catch {
    throw new UsageError(`--server must be an http(s) URL, got "${server}".`);
  }
  if (!values.force && (await identityExists(stateDir))) {
    throw new UsageError(`${stateDir} already holds an enrolled agent; use --force to replace it or --state-dir for another one.`, 1);
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ registrationToken: token, hostname: hostname(), displayName: values.name, operatingSystem: `${type()} ${release()}`, version: AGENT_VERSION }),
      signal: AbortSignal.timeout(20_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new UsageError(`Cannot reach a DataSync server at ${server}: ${cause?.code ?? cause?.message ?? (error as Error).message}.`, 1);
  }
  const body = (await response.json().catch(() => undefined)) as { agentId?: string; agentToken?: string; error?: string } | undefined;
  if (!response.ok) {
    if (body?.error && response.status !== 404) throw new UsageError(`Enrollment refused by ${server}: ${body.error}`, 1);
    throw new UsageError(`${server} does not look like a DataSync server (HTTP ${response.status} on /api/agent/register).`, 1);
  }
  if (!body?.agentId || !body.agentToken) throw new UsageError(`${server} does not look like a DataSync server (unexpected answer to /api/agent/register).`, 1);
  await saveIdentity(stateDir, { server, agentId: body.agentId, agentToken: body.agentToken, enrolledUtc: new Date().toISOString(), displayName: values.name as string | undefined });
  console.log(`Enrolled as agent ${body.agentId}. State saved in ${stateDir}.`);
  await printDiscovery(await configOf(values));
  console.log(`Next: start "datasync-agent run" (or "datasync-agent install-service"); it reports these to the platform.`);
  return 0;
}

/** What the agent finds on this machine now (platform credentials arrive only once it runs). */
async function printDiscovery(config: AgentConfig): Promise<void> {
  const found = await resolveEngines(config, { get: () => undefined });
  const listed = await collectInventory(found.engines, () => {});
  console.log(listed.length || found.unreachable.length ? "Database engines on this machine:" : "No database engines found on this machine (agent.json can add some).");
  for (const engine of listed) {
    console.log(engine.error ? `  ${engine.engineKey} (${engine.dbmsType}): not reachable: ${engine.error}` : `  ${engine.engineKey} (${engine.dbmsType} ${engine.version}): ${engine.databases.map((d) => d.name).join(", ") || "no databases"}`);
  }
  for (const engine of found.unreachable) console.log(`  ${engine.engineKey} (${engine.dbmsType}): not reachable: ${engine.error}`);
}

async function run(args: string[]): Promise<number> {
  const values = parse(args, { config: { type: "string" } });
  if (values.help) return help("run");
  const stateDir = stateDirOf(values);
  const identity = await loadIdentity(stateDir);
  const config = await configOf(values);
  const store = await AgentStore.open(stateDir);
  const discover = () => resolveEngines(config, store);
  const { engines } = await discover();
  await prepareEngines(engines);
  const observer = new LiveStatusFile(stateDir, AGENT_VERSION, await readLiveStatus(stateDir));
  const agent = new Agent({ identity, stateDir, config, store, engines, discover, observer });
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write("Stopping: waiting for a backup in progress to finish (signal again to quit now).\n");
    void agent.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.stderr.write(`datasync-agent ${AGENT_VERSION}: agent ${identity.agentId}, ${engines.length} engine(s), connecting to ${identity.server}.\n`);
  agent.start();
  const exit = await agent.exited;
  if (exit.reason === "stopped") {
    observer.disconnected("stopped");
    await observer.flushed();
    store.close();
    return 0;
  }
  throw new UsageError(exit.message, exit.reason === "revoked" ? 3 : 4);
}

async function status(args: string[]): Promise<number> {
  const values = parse(args, {});
  if (values.help) return help("status");
  const stateDir = stateDirOf(values);
  const identity = await loadIdentity(stateDir);
  const store = await AgentStore.open(stateDir);
  try {
    const scheduler = new Scheduler(() => {});
    console.log(`Agent ${identity.agentId}`);
    console.log(`  server:      ${identity.server}`);
    console.log(`  enrolled:    ${identity.enrolledUtc}`);
    console.log(`  state:       ${stateDir}`);
    const reachable = await fetch(apiUrl(identity.server, "/api/health"), { signal: AbortSignal.timeout(5000) }).then((r) => (r.ok ? "reachable" : `HTTP ${r.status}`), (e: Error) => `unreachable (${(e.cause as Error)?.message ?? e.message})`);
    console.log(`  platform:    ${reachable}`);
    const live = await readLiveStatus(stateDir);
    console.log(`  connection:  ${describeConnection(live)}`);
    console.log(`  unconfirmed reports: ${store.pendingMessages().length}`);
    console.log(`  credentials: ${store.credentialCount()}`);
    const runs = store.runsInProgress();
    if (runs.length) console.log(`  runs in progress (or interrupted): ${runs.map((r) => r.backupRunId).join(", ")}`);
    if (live?.engines.length) {
      console.log(`Engines (${live.engines.length}):`);
      for (const engine of live.engines) console.log(`  ${engine.engineKey} (${engine.dbmsType}${engine.version ? ` ${engine.version}` : ""}): ${engine.error ? `not reachable: ${engine.error}` : engine.databases.map((d) => d.name).join(", ") || "no databases"}`);
    }
    const jobs = store.jobs();
    console.log(`Jobs (${jobs.length}):`);
    for (const job of jobs) {
      scheduler.upsert(job);
      const next = scheduler.nextRuns(job.backupJobId).sort((a, b) => a.getTime() - b.getTime())[0];
      const schedules = job.schedules.map((s) => `${s.backupMode} "${s.cronExpression}"`).join(", ") || "manual only";
      console.log(`  ${job.name} [${job.isEnabled ? "enabled" : "disabled"}] ${schedules}${next ? `; next ${next.toISOString()}` : ""}; keeps ${job.retentionDays} days`);
    }
    scheduler.stop();
    const lastRuns = live?.runs ?? [];
    console.log(`Last runs (${lastRuns.length}):`);
    for (const run of lastRuns) {
      const job = run.backupJobId ? (store.job(run.backupJobId)?.name ?? run.backupJobId) : "?";
      console.log(`  ${run.finishedUtc ?? run.startedUtc ?? ""} ${job} ${run.backupMode ?? ""} ${run.status}${run.files !== undefined ? `, ${run.files} file(s)` : ""}${run.error ? `: ${run.error}` : ""}`);
    }
  } finally {
    store.close();
  }
  return 0;
}

function describeConnection(live: Awaited<ReturnType<typeof readLiveStatus>>): string {
  if (!live) return "the agent has not run yet";
  if (!isRunning(live.pid)) return `not running (last seen ${live.updatedUtc})`;
  const { connection } = live;
  return `${connection.state} since ${connection.sinceUtc}${connection.detail ? ` (${connection.detail})` : ""}; agent ${live.version}, pid ${live.pid}`;
}

async function installServiceCommand(args: string[]): Promise<number> {
  const values = parse(args, { writable: { type: "string", multiple: true }, "unit-dir": { type: "string" } });
  if (values.help) return help("install-service");
  const stateDir = typeof values["state-dir"] === "string" || process.env.DATASYNC_AGENT_STATE_DIR ? stateDirOf(values) : SERVICE_STATE_DIR;
  const unitDir = (values["unit-dir"] as string | undefined) || process.env.DATASYNC_AGENT_UNIT_DIR || undefined;
  if (!(await identityExists(stateDir))) {
    throw new UsageError(`No enrolled agent in ${stateDir}, which the service would use: enroll with --state-dir ${stateDir} first, or pass the enrolled --state-dir.`, 1);
  }
  await installService({
    node: process.execPath,
    script: ownScript(),
    version: AGENT_VERSION,
    stateDir,
    configPath: SERVICE_CONFIG,
    writablePaths: ((values.writable as string[] | undefined) ?? []).map((path) => resolve(path)),
    unitDir,
    print: (line) => console.log(line),
  });
  return 0;
}

async function uninstallServiceCommand(args: string[]): Promise<number> {
  const values = parse(args, { "unit-dir": { type: "string" } });
  if (values.help) return help("uninstall-service");
  await uninstallService({ unitDir: (values["unit-dir"] as string | undefined) || process.env.DATASYNC_AGENT_UNIT_DIR || undefined, print: (line) => console.log(line) });
  return 0;
}

async function update(args: string[]): Promise<number> {
  const values = parse(args, { server: { type: "string" }, prefix: { type: "string" }, force: { type: "boolean" } });
  if (values.help) return help("update");
  const server = typeof values.server === "string" ? values.server.replace(/\/+$/, "") : (await loadIdentity(stateDirOf(values))).server;
  const prefix = typeof values.prefix === "string" ? resolve(values.prefix) : installedPrefix();
  if (!prefix) throw new UsageError("This agent runs from a source checkout, not an npm installation: update it with git, or give --prefix to install the package.", 1);
  const installed = await updateAgent({ server, currentVersion: AGENT_VERSION, prefix, force: values.force === true, print: (line) => console.log(line) });
  if (!installed) return 0;
  if (hasSystemd() && existsSync(`${SYSTEM_UNIT_DIR}/${SERVICE_NAME}.service`) && process.getuid?.() === 0) {
    await promisify(execFile)("systemctl", ["try-restart", SERVICE_NAME]);
    console.log(`Restarted ${SERVICE_NAME}.service.`);
  } else {
    console.log("Restart the running agent to use the new version.");
  }
  return 0;
}

async function restore(args: string[]): Promise<number> {
  const values = parse(args, { file: { type: "string" }, to: { type: "string" }, passphrase: { type: "string" }, checksum: { type: "string" }, until: { type: "string" } });
  if (values.help) return help("restore");
  const file = resolve(required(values.file, "file"));
  const to = required(values.to, "to");
  const passphrase = typeof values.passphrase === "string" ? values.passphrase : process.env.DATASYNC_BACKUP_PASSPHRASE || undefined;
  const until = typeof values.until === "string" ? new Date(values.until) : undefined;
  if (until && (Number.isNaN(until.getTime()) || !/[zZ]|[+-]\d\d:?\d\d$/.test(values.until as string))) {
    throw new UsageError("--until must be an ISO 8601 time with its offset, e.g. 2026-03-26T14:30:00Z.");
  }
  const result = await restoreBackup({ file, to: /^[a-z]+:\/\//i.test(to) ? to : resolve(to), passphrase, checksum: typeof values.checksum === "string" ? values.checksum : undefined, until });
  console.log(`Checksum verified (${result.checksum}); restored into ${result.target}.`);
  return 0;
}

async function forgetHost(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: COMMON_OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]} (see --help)`);
  }
  if (parsed.values.help) return help("forget-host");
  const host = parsed.positionals[0];
  if (!host || !/^[^\s:]+:\d+$/.test(host)) throw new UsageError("Give the host as HOST:PORT, e.g. backup.example.com:22 (see --help).");
  const stateDir = stateDirOf(parsed.values);
  await loadIdentity(stateDir); // a clear error for a missing state directory, rather than creating one
  const store = await AgentStore.open(stateDir);
  try {
    console.log(store.forgetHostKey(host) ? `Forgot the host key of ${host}.` : `No host key of ${host} was remembered.`);
  } finally {
    store.close();
  }
  return 0;
}

function help(topic: string): number {
  console.log(HELP[topic] ?? HELP.main);
  return 0;
}

/** The commands, in the order the help lists them. */
const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  enroll,
  run,
  status,
  restore,
  "install-service": installServiceCommand,
  "uninstall-service": uninstallServiceCommand,
  update,
  "forget-host": forgetHost,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command && Object.hasOwn(COMMANDS, command)) return await COMMANDS[command](rest);
    switch (command) {
      case "help":
        return help(rest[0] ?? "main");
      case "--version":
      case "-v":
        console.log(AGENT_VERSION);
        return 0;
      case undefined:
      case "--help":
      case "-h":
        return help("main");
      default:
        throw new UsageError(`Unknown command "${command}". Commands: ${Object.keys(COMMANDS).join(", ")} (see --help).`);
    }
  } catch (error) {
    const known = error instanceof UsageError || error instanceof StateError || error instanceof ConfigError;
    const message = (error as Error)?.message?.split("\n")[0] || String(error);
    process.stderr.write(`datasync-agent: ${message}\n`);
    if (!known && process.env.DATASYNC_AGENT_DEBUG) console.error(error);
    return error instanceof UsageError ? error.exitCode : 1;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
