import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { ExtractedLink } from "../chain/archive.ts";
import { startScratchServer } from "../chain/scratch-server.ts";
import type { BackupMode } from "../types.ts";
import type { ChainBackupRequest, ChainPosition, ServerLogin } from "./engine.ts";
import { firstInstalled, runForOutput, runWithInput, streamFrom } from "./process.ts";

/**
 * MariaDB physical chain: Full = `mariadb-backup --backup`; Differential = `--incremental-lsn` against
 * the Full's LSN (so it holds every change since the Full); TransactionLog = the binary logs closed
 * since the previous backup, copied raw with `mariadb-binlog --read-from-remote-server --raw`.
 */
interface MariadbPosition extends ChainPosition {
  /** The Full's checkpoint LSN, which every Differential of the chain starts from. */
  fullLsn: string;
  /** Where the next log backup starts: the binlog file and offset right after this backup. */
  binlog: { file: string; position: number } | null;
}

const backupTool = () => firstInstalled(["mariadb-backup", "mariabackup"]);
const binlogTool = () => firstInstalled(["mariadb-binlog", "mysqlbinlog"]);
const clientTool = () => firstInstalled(["mariadb", "mysql"]);
const dumpTool = () => firstInstalled(["mariadb-dump", "mysqldump"]);
const serverTool = () => firstInstalled(["mariadbd", "/usr/sbin/mariadbd", "mysqld", "/usr/sbin/mysqld"]);

/** Physical backups read the server's data folder, so only a server on this machine qualifies. */
export function isLocalServer(login: ServerLogin): boolean {
  return ["127.0.0.1", "localhost", "::1"].includes(login.host);
}

/**
 * Connection options for mariadb-backup and mariadb-binlog. The password goes into a 0600 option file
 * (`--defaults-extra-file` must come first), never onto a command line.
 */
async function toolLogin(login: ServerLogin, directory: string): Promise<string[]> {
  const args = [`--host=${login.host}`, "--protocol=TCP"];
  if (login.port) args.push(`--port=${login.port}`);
  if (login.username) args.push(`--user=${login.username}`);
  if (login.password === undefined) return args;
  const file = join(directory, ".datasync-login.cnf");
  await writeFile(file, `[client]\npassword="${login.password.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"\n`, { mode: 0o600 });
  return [`--defaults-extra-file=${file}`, ...args];
}

function parseCheckpointLsn(text: string): string {
  const lsn = /^to_lsn\s*=\s*(\d+)/m.exec(text)?.[1];
  if (!lsn) throw new Error("mariadb-backup wrote no to_lsn in xtrabackup_checkpoints.");
  return lsn;
}

async function binlogPosition(directory: string): Promise<MariadbPosition["binlog"]> {
  const text = await readFile(join(directory, "xtrabackup_binlog_info"), "utf8").catch(() => "");
  const [file, position] = text.trim().split(/\s+/);
  return file && position ? { file, position: Number(position) } : null;
}

export async function stageMariadbBackup(login: ServerLogin, query: (sql: string) => Promise<string>, request: ChainBackupRequest): Promise<MariadbPosition> {
  const previous = request.previous as MariadbPosition | undefined;
  const loginArgs = await toolLogin(login, request.directory);
  try {
    if (request.mode === "TransactionLog") return await copyBinlogs(loginArgs, query, previous, join(request.directory, "binlog"));
    const data = join(request.directory, "data");
    const args = ["--backup", `--target-dir=${data}`];
    if (request.mode === "Differential") {
      if (!previous) throw new Error("A Differential needs a physical Full of this job first: run a Full.");
      args.push(`--incremental-lsn=${previous.fullLsn}`);
    }
    await runForOutput({ command: await backupTool(), args: [...loginArgs, ...args] });
    const lsn = parseCheckpointLsn(await readFile(join(data, "xtrabackup_checkpoints"), "utf8"));
    return { fullLsn: request.mode === "Full" ? lsn : previous!.fullLsn, binlog: await binlogPosition(data) };
  } finally {
    await rm(join(request.directory, ".datasync-login.cnf"), { force: true });
  }
}

async function copyBinlogs(loginArgs: string[], query: (sql: string) => Promise<string>, previous: MariadbPosition | undefined, directory: string): Promise<MariadbPosition> {
  if (!previous?.binlog) throw new Error("A TransactionLog backup needs a physical Full of this job, made with binary logging on: run a Full.");
  // Closes the current binary log, so every event so far is in a finished file.
  await query("FLUSH BINARY LOGS");
  const logs = (await query("SHOW BINARY LOGS")).split("\n").map((line) => line.split("\t")[0]?.trim()).filter(Boolean) as string[];
  const first = logs.indexOf(previous.binlog.file);
  if (first < 0) throw new Error(`The binary log ${previous.binlog.file} is gone from the server (purged?): the log chain is broken; run a Full.`);
  await mkdir(directory);
  const tool = await binlogTool();
  for (const name of logs.slice(first, -1)) {
    // --result-file is a prefix with --raw: each log keeps its own name in the folder.
    await runForOutput({ command: tool, args: [...loginArgs, "--read-from-remote-server", "--raw", `--result-file=${directory}/`, name] });
  }
  return { fullLsn: previous.fullLsn, binlog: { file: logs[logs.length - 1]!, position: 4 } };
}

/** Full, Differential or TransactionLog, given what is installed and how the server is set up. */
export async function mariadbModes(login: ServerLogin, query: (sql: string) => Promise<string>): Promise<BackupMode[]> {
  const physical = isLocalServer(login) && (await backupTool().then(() => true, () => false));
  if (!physical) return ["Full"];
  const logBin = (await query("SELECT @@log_bin")).trim() === "1";
  return logBin ? ["Full", "Differential", "TransactionLog"] : ["Full", "Differential"];
}

/** `2026-03-26 02:00:00` in UTC for mariadb-binlog's --stop-datetime (run with TZ=UTC). */
function binlogDatetime(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/**
 * Restores a chain into `database` on the target server: prepares the Full (and Differential) with
 * mariadb-backup, starts a scratch server on it, replays the binary logs up to `until`, then copies the
 * database out with mariadb-dump into `load`.
 */
export async function restoreMariadbChain(args: {
  links: ExtractedLink[];
  until?: Date;
  workDirectory: string;
  load: (dump: Readable) => Promise<void>;
}): Promise<void> {
  const [full, ...rest] = args.links;
  const differential = rest.filter((link) => link.manifest.backupMode === "Differential").pop();
  const logs = rest.filter((link) => link.manifest.backupMode === "TransactionLog");
  const data = join(full!.payload, "data");
  const tool = await backupTool();
  await runForOutput({ command: tool, args: ["--prepare", `--target-dir=${data}`] });
  if (differential) await runForOutput({ command: tool, args: ["--prepare", `--target-dir=${data}`, `--incremental-dir=${join(differential.payload, "data")}`] });
  const start = ((differential ?? full)!.manifest.position as MariadbPosition).binlog;

  const database = full!.manifest.database;
  const binlogs = await collectBinlogs(logs, args.workDirectory);
  if (binlogs.length && start) {
    const first = binlogs.findIndex((path) => path.endsWith(`/${start.file}`));
    if (first < 0) throw new Error(`The logs of this chain do not start at ${start.file}, where its base backup ends.`);
    const replay = [`--start-position=${start.position}`, ...(args.until ? [`--stop-datetime=${binlogDatetime(args.until)}`] : []), ...binlogs.slice(first)];
    const binlog = await binlogTool();
    // Every event is replayed (a filter by database would drop statements run from another default
    // database). Account statements need the grant tables, which FLUSH PRIVILEGES loads for this session.
    await withScratchServer(data, args.workDirectory, (client) => {
      const events = streamFrom({ command: binlog, args: replay, env: { TZ: "UTC" } });
      return runWithInput({ ...client, args: [...client.args, "--binary-mode"] }, Readable.from(withPrefix("FLUSH PRIVILEGES;\n", events)));
    });
  }
  const dump = await dumpTool();
  await withScratchServer(data, args.workDirectory, (client) =>
    args.load(streamFrom({ command: dump, args: [...client.args, "--single-transaction", "--routines", "--triggers", "--events", "--hex-blob", "--", database] })),
  );
}

async function* withPrefix(prefix: string, rest: Readable): AsyncGenerator<Buffer> {
  yield Buffer.from(prefix);
  for await (const chunk of rest) yield chunk as Buffer;
}

/** Runs `work` against a scratch server on the restored data folder: local socket only, no grant checks. */
async function withScratchServer(data: string, workDirectory: string, work: (client: { command: string; args: string[] }) => Promise<void>): Promise<void> {
  const socket = join(workDirectory, "mariadb.sock");
  const serverArgs = ["--no-defaults", `--datadir=${data}`, `--socket=${socket}`, `--pid-file=${join(workDirectory, "mariadb.pid")}`, "--skip-networking", "--skip-grant-tables", "--skip-log-bin", "--innodb-buffer-pool-size=64M", `--log-error=${join(workDirectory, "mariadb.err")}`];
  if (process.getuid?.() === 0) serverArgs.push(`--user=${userInfo().username}`);
  const client = { command: await clientTool(), args: [`--socket=${socket}`] };
  const server = await startScratchServer({ command: await serverTool(), args: serverArgs }, () => runForOutput({ command: client.command, args: [...client.args, "-e", "SELECT 1"] }).then(() => true), "SIGTERM");
  try {
    await work(client);
  } finally {
    await server.stop();
  }
}

/** Every binary log file of the chain's log backups, once each, in order (later copies win). */
async function collectBinlogs(logs: ExtractedLink[], workDirectory: string): Promise<string[]> {
  const folder = join(workDirectory, "binlogs");
  await mkdir(folder, { recursive: true });
  const names = new Set<string>();
  for (const log of logs) {
    const source = join(log.payload, "binlog");
    for (const name of await readdir(source).catch(() => [] as string[])) {
      await copyFile(join(source, name), join(folder, name));
      names.add(name);
    }
  }
  return [...names].sort().map((name) => join(folder, name));
}
