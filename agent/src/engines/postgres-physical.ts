import { createHash } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import type { ExtractedLink } from "../chain/archive.ts";
import { startScratchServer } from "../chain/scratch-server.ts";
import type { BackupMode } from "../types.ts";
import type { ChainBackupRequest, ChainPosition, ServerLogin } from "./engine.ts";
import { firstInstalled, runForOutput, streamFrom, type Command } from "./process.ts";

/**
 * PostgreSQL physical chain: Full = `pg_basebackup` (the whole cluster, WAL included); TransactionLog =
 * the WAL since the previous backup, fetched with `pg_receivewal` through a replication slot the Full
 * creates, so the server keeps every segment until it is backed up. (Differential would need
 * PostgreSQL 17's incremental backup; this agent does not make one.)
 */
interface PostgresPosition extends ChainPosition {
  slot: string;
  /** WAL up to here is in backups; the slot is advanced to it before the next log backup. */
  storedUpTo: string | null;
}

type Query = (sql: string) => Promise<string>;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

function connectionArgs(login: ServerLogin): { args: string[]; env: Record<string, string | undefined> } {
  const args = ["--no-password", "-h", login.host];
  if (login.port) args.push("-p", String(login.port));
  if (login.username) args.push("-U", login.username);
  return { args, env: { PGPASSWORD: login.password, PGCONNECT_TIMEOUT: "10" } };
}

/** Full, and TransactionLog when the tools are installed and the server allows WAL streaming to this login. */
export async function postgresModes(query: Query): Promise<BackupMode[]> {
  const tools = await Promise.all(["pg_basebackup", "pg_receivewal"].map((tool) => firstInstalled([tool]).then(() => true, () => false)));
  if (tools.includes(false)) return ["Full"];
  const [walLevel, senders, replication] = (
    await query("SELECT current_setting('wal_level') || '|' || current_setting('max_wal_senders') || '|' || (SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user)")
  ).trim().split("|");
  const streams = walLevel !== "minimal" && Number(senders) > 0 && replication === "true";
  return streams ? ["Full", "TransactionLog"] : ["Full"];
}

export async function stagePostgresBackup(login: ServerLogin, query: Query, request: ChainBackupRequest): Promise<PostgresPosition> {
  const { args, env } = connectionArgs(login);
  // One slot per job and database; names allow 63 lower-case letters, digits and underscores.
  const slot = `datasync_${createHash("sha256").update(request.chainKey).digest("hex").slice(0, 24)}`;
  const slotExists = async () => (await query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = ${literal(slot)}`)).trim() === "1";
  if (request.mode === "Full") {
    if (!(await slotExists())) await query(`SELECT pg_create_physical_replication_slot(${literal(slot)}, true)`);
    await runForOutput({ command: "pg_basebackup", args: [...args, "-D", join(request.directory, "data"), "-Fp", "-X", "stream", "-c", "fast", "-S", slot], env });
    return { slot, storedUpTo: null };
  }
  if (request.mode !== "TransactionLog") throw new Error(`PostgreSQL ${request.mode} backups are not made by this agent.`);
  const previous = request.previous as PostgresPosition | undefined;
  if (!previous) throw new Error("A TransactionLog backup needs a physical Full of this job first: run a Full.");
  if (!(await slotExists())) throw new Error(`The replication slot ${previous.slot} is gone from the server: the log chain is broken; run a Full.`);
  if (previous.storedUpTo) {
    // WAL before this point is safely in earlier backups: let the server recycle it.
    await query(`SELECT pg_replication_slot_advance(slot_name, ${literal(previous.storedUpTo)}) FROM pg_replication_slots WHERE slot_name = ${literal(slot)} AND restart_lsn < ${literal(previous.storedUpTo)}::pg_lsn`);
  }
  await query("SELECT pg_switch_wal()");
  const end = (await query("SELECT pg_current_wal_lsn()")).trim();
  const wal = join(request.directory, "wal");
  await mkdir(wal);
  await runForOutput({ command: "pg_receivewal", args: [...args, "-D", wal, "-S", slot, "-E", end, "-n"], env });
  return { slot, storedUpTo: end };
}

/** Drops the chain's replication slot, so the server stops keeping WAL for a job that is gone. */
export async function dropSlot(query: Query, position: ChainPosition): Promise<void> {
  const { slot } = position as PostgresPosition;
  await query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ${literal(slot)} AND NOT active`);
}

async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all(["-u", "-g"].map(async (flag) => Number((await runForOutput({ command: "id", args: [flag, "postgres"] })).trim())));
  return { uid: uid!, gid: gid! };
}

/** The WAL segments of the chain's log backups in one folder; a later copy (complete or longer) wins. */
async function collectWal(logs: ExtractedLink[], folder: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  for (const log of logs) {
    const source = join(log.payload, "wal");
    for (const name of await readdir(source).catch(() => [] as string[])) {
      // pg_receivewal pads a .partial segment with zeros: recovery reads it up to its last record.
      await copyFile(join(source, name), join(folder, name.replace(/\.partial$/, "")));
    }
  }
}

/** Recovery refuses settings below the primary's: take them from the backup's control file. */
async function primarySettings(bin: string, data: string): Promise<Record<string, string>> {
  const control = await runForOutput({ command: await firstInstalled([join(bin, "pg_controldata"), "pg_controldata"]), args: [data] });
  const names: Record<string, string> = {
    max_connections: "max_connections",
    max_worker_processes: "max_worker_processes",
    max_wal_senders: "max_wal_senders",
    max_prepared_xacts: "max_prepared_transactions",
    max_locks_per_xact: "max_locks_per_transaction",
  };
  const settings: Record<string, string> = {};
  for (const [label, setting] of Object.entries(names)) {
    const value = new RegExp(`^${label} setting:\\s*(\\d+)`, "m").exec(control)?.[1];
    if (value) settings[setting] = value;
  }
  return settings;
}

/**
 * Restores a chain into the target database: a scratch server on the Full's data folder replays the
 * WAL up to `until` (or to its end), then the database is copied out with pg_dump into `load`.
 */
export async function restorePostgresChain(args: { links: ExtractedLink[]; until?: Date; workDirectory: string; load: (dump: Readable) => Promise<void> }): Promise<void> {
  const [full, ...logs] = args.links;
  const data = join(full!.payload, "data");
  const work = args.workDirectory;
  const wal = join(work, "wal");
  await collectWal(logs, wal);
  await writeFile(join(work, "postgresql.conf"), "");
  await writeFile(join(work, "pg_hba.conf"), "local all all trust\n");
  await writeFile(join(work, "pg_ident.conf"), "");
  await writeFile(join(data, "recovery.signal"), "");
  const user = await postgresUser();
  // PostgreSQL refuses to run as root: the scratch server runs as the postgres user, owning the files.
  if (user) await runForOutput({ command: "chown", args: ["-R", `${user.uid}:${user.gid}`, work] });
  const major = (await readFile(join(data, "PG_VERSION"), "utf8")).trim();
  const server = await firstInstalled([`/usr/lib/postgresql/${major}/bin/postgres`, "postgres"]);
  const settings = {
    config_file: join(work, "postgresql.conf"),
    hba_file: join(work, "pg_hba.conf"),
    ident_file: join(work, "pg_ident.conf"),
    listen_addresses: "",
    unix_socket_directories: work,
    port: "5432",
    archive_mode: "off",
    shared_buffers: "32MB",
    ...(await primarySettings(dirname(server), data)),
    restore_command: `cp "${wal}/%f" "%p"`,
    recovery_target_action: "promote",
    ...(args.until ? { recovery_target_time: args.until.toISOString().replace("T", " ").replace("Z", "+00") } : {}),
  };
  const command: Command = { command: server, args: ["-D", data, ...Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`])], user };
  const client = (sql: string): Command => ({ command: "psql", args: ["-h", work, "-p", "5432", "-U", "postgres", "-d", "postgres", "-X", "-A", "-t", "-c", sql] });
  // Ready once recovery has reached its target and the server was promoted.
  const scratch = await startScratchServer(command, async () => (await runForOutput(client("SELECT pg_is_in_recovery()"))).trim() === "f", "SIGINT");
  try {
    await args.load(streamFrom({ command: "pg_dump", args: ["-h", work, "-p", "5432", "-U", "postgres", "--format=custom", "-Z0", "--no-owner", "-d", full!.manifest.database] }));
  } finally {
    await scratch.stop();
  }
}
