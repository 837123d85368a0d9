/**
 * Finds the database engines on this machine by itself: PostgreSQL and MariaDB/MySQL on their usual
 * Unix sockets and loopback ports, SQLite files under configured folders. A server that is there but
 * refuses every login is reported with the reason instead of being left out.
 */
import { stat, open, readdir } from "node:fs/promises";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import type { AgentConfig, DiscoveryConfig, EngineConfig, MysqlEngineConfig, PostgresEngineConfig } from "./config.ts";
import type { Engine } from "./engines/engine.ts";
import { createEngines } from "./engines/index.ts";
import { MysqlEngine } from "./engines/mysql.ts";
import { PostgresEngine } from "./engines/postgres.ts";
import type { CredentialLookup, DbmsType } from "./types.ts";

/** A server found on this machine that the agent cannot use, and why. */
export interface UnreachableEngine {
  engineKey: string;
  dbmsType: DbmsType;
  error: string;
  port?: number;
}

export interface Discovery {
  /** Engines found and logged in to, described as agent.json would describe them. */
  engines: EngineConfig[];
  unreachable: UnreachableEngine[];
}

/** Where the servers are looked for (tests point these at private instances). */
export interface DiscoveryPlaces {
  postgresSocketDirectories: string[];
  postgresPort: number;
  mysqlSockets: string[];
  mysqlPort: number;
}

export const DEFAULT_PLACES: DiscoveryPlaces = {
  postgresSocketDirectories: ["/var/run/postgresql", "/run/postgresql", "/tmp"],
  postgresPort: 5432,
  mysqlSockets: ["/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/var/lib/mysql/mysql.sock", "/tmp/mysql.sock"],
  mysqlPort: 3306,
};

const LOOPBACK = "127.0.0.1";
const PROBE_TIMEOUT_MS = 1500;
const SQLITE_HEADER = "SQLite format 3\0";
const SQLITE_SEARCH_DEPTH = 4;
const SQLITE_MAX_FILES = 1000;
const MAX_ERROR_LENGTH = 1000;

const exists = (path: string) => stat(path).then(() => true, () => false);
const errorText = (error: unknown) => ((error as Error)?.message || String(error)).replace(/\s+/g, " ").trim();

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const path of paths) if (await exists(path)) return path;
  return undefined;
}

function connect(target: { path: string } | { host: string; port: number }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(target);
    socket.setTimeout(PROBE_TIMEOUT_MS, () => socket.destroy(new Error("timed out")));
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

async function isListening(host: string, port: number): Promise<boolean> {
  try {
    (await connect({ host, port })).destroy();
    return true;
  } catch {
    return false;
  }
}

/**
 * A MySQL-protocol server's greeting (sent before any login) names its version, so MariaDB and MySQL
 * are told apart even when no login works. Undefined when nothing answers like such a server.
 */
export async function mysqlGreeting(target: { path: string } | { host: string; port: number }): Promise<string | undefined> {
  let socket: Socket;
  try {
    socket = await connect(target);
  } catch {
    return undefined;
  }
  return new Promise((resolve) => {
    let data = Buffer.alloc(0);
    const done = (version: string | undefined) => {
      socket.destroy();
      resolve(version);
    };
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length < 5) return;
      // 3-byte length, sequence id, then protocol version 10 and the NUL-terminated server version.
      if (data[4] !== 10) return done(data[4] === 0xff ? "" : undefined);
      const end = data.indexOf(0, 5);
      if (end > 0) done(data.subarray(5, end).toString("utf8"));
    });
    socket.once("error", () => done(undefined));
    socket.once("timeout", () => done(undefined));
    socket.once("close", () => done(undefined));
  });
}

/** Tries each way in; the first that lists databases wins, else every failure is the reason. */
async function firstWorking<C extends EngineConfig>(candidates: { where: string; config: C }[], works: (config: C) => Promise<unknown>) {
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      await works(candidate.config);
      return { config: candidate.config };
    } catch (error) {
      failures.push(`${candidate.where}: ${errorText(error)}`);
    }
  }
  return { error: failures.join("; ").slice(0, MAX_ERROR_LENGTH) };
}

type Found = EngineConfig | UnreachableEngine | undefined;

async function discoverPostgres(login: DiscoveryConfig["postgres"], credentials: CredentialLookup, places: DiscoveryPlaces): Promise<Found> {
  const port = places.postgresPort;
  const socketDirectory = await firstExisting(places.postgresSocketDirectories.map((dir) => join(dir, `.s.PGSQL.${port}`))).then((socket) => socket?.slice(0, socket.lastIndexOf("/")));
  const tcp = await isListening(LOOPBACK, port);
  if (!socketDirectory && !tcp) return undefined;
  const base = { type: "PostgreSql", engineKey: "local-postgresql", port, format: "custom" } as const;
  const candidates: { where: string; config: PostgresEngineConfig }[] = [];
  if (login.credentialReferenceId) candidates.push({ where: `${LOOPBACK}:${port} with credential ${login.credentialReferenceId}`, config: { ...base, host: LOOPBACK, credentialReferenceId: login.credentialReferenceId } });
  // Without a user name psql logs in as this OS user: peer authentication on the socket.
  if (socketDirectory) candidates.push({ where: `socket ${socketDirectory}`, config: { ...base, host: socketDirectory, username: login.username, password: login.password } });
  if (tcp) candidates.push({ where: `${LOOPBACK}:${port}`, config: { ...base, host: LOOPBACK, username: login.username ?? "postgres", password: login.password } });
  const found = await firstWorking(candidates, (config) => new PostgresEngine(config, credentials).listDatabases());
  return found.config ?? { engineKey: base.engineKey, dbmsType: "PostgreSql" as const, port, error: found.error };
}

async function discoverMysql(login: DiscoveryConfig["mysql"], credentials: CredentialLookup, places: DiscoveryPlaces): Promise<Found> {
  const port = places.mysqlPort;
  const socket = await firstExisting(places.mysqlSockets);
  const socketGreeting = socket ? await mysqlGreeting({ path: socket }) : undefined;
  const tcpGreeting = await mysqlGreeting({ host: LOOPBACK, port });
  const greeting = socketGreeting ?? tcpGreeting;
  if (greeting === undefined) return undefined;
  const type: "MariaDb" | "MySql" = /mariadb/i.test(greeting) ? "MariaDb" : "MySql";
  const base = { type, engineKey: type === "MariaDb" ? "local-mariadb" : "local-mysql", port } as const;
  const candidates: { where: string; config: MysqlEngineConfig }[] = [];
  if (login.credentialReferenceId) candidates.push({ where: `${LOOPBACK}:${port} with credential ${login.credentialReferenceId}`, config: { ...base, host: LOOPBACK, credentialReferenceId: login.credentialReferenceId } });
  // Without a user name the client logs in as this OS user: unix_socket authentication.
  if (socketGreeting !== undefined) candidates.push({ where: `socket ${socket}`, config: { ...base, host: socket!, username: login.username, password: login.password } });
  if (tcpGreeting !== undefined) candidates.push({ where: `${LOOPBACK}:${port}`, config: { ...base, host: LOOPBACK, username: login.username ?? "root", password: login.password } });
  const found = await firstWorking(candidates, (config) => new MysqlEngine(config, credentials).listDatabases());
  return found.config ?? { engineKey: base.engineKey, dbmsType: type, port, error: found.error };
}

async function isSqliteFile(path: string): Promise<boolean> {
  const handle = await open(path, "r").catch(() => undefined);
  if (!handle) return false;
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    return bytesRead === header.length && header.toString("latin1") === SQLITE_HEADER;
  } finally {
    await handle.close();
  }
}

/** SQLite files (recognised by their header, whatever their name) a few levels under `directory`. */
export async function findSqliteFiles(directory: string, depth = SQLITE_SEARCH_DEPTH, found: string[] = []): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  for (const entry of entries) {
    if (found.length >= SQLITE_MAX_FILES) break;
    const path = join(directory, entry.name);
    if (entry.isDirectory() && depth > 0 && entry.name !== "node_modules" && !entry.name.startsWith(".")) await findSqliteFiles(path, depth - 1, found);
    else if (entry.isFile() && (await isSqliteFile(path))) found.push(path);
  }
  return found.sort();
}

async function discoverSqlite(directories: string[]): Promise<Found> {
  const files: string[] = [];
  const missing: string[] = [];
  for (const directory of directories) {
    try {
      files.push(...(await findSqliteFiles(directory)));
    } catch (error) {
      missing.push(`${directory}: ${errorText(error)}`);
    }
  }
  const engineKey = "local-sqlite";
  if (files.length) return { type: "Sqlite", engineKey, paths: [...new Set(files)] } satisfies EngineConfig;
  if (missing.length) return { engineKey, dbmsType: "Sqlite", error: `Cannot search ${missing.join("; ")}`.slice(0, MAX_ERROR_LENGTH) } satisfies UnreachableEngine;
  return undefined;
}

/** Everything discovery finds on this machine with the logins agent.json gives it. */
export async function discoverEngines(config: DiscoveryConfig, credentials: CredentialLookup, places: DiscoveryPlaces = DEFAULT_PLACES): Promise<Discovery> {
  const results = await Promise.all([discoverPostgres(config.postgres, credentials, places), discoverMysql(config.mysql, credentials, places), discoverSqlite(config.sqliteDirectories)]);
  const discovery: Discovery = { engines: [], unreachable: [] };
  for (const result of results) {
    if (!result) continue;
    if ("error" in result) discovery.unreachable.push(result);
    else discovery.engines.push(result);
  }
  return discovery;
}

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "::1"]);

/** Does an engine of agent.json already describe this discovered server? Then agent.json's wins. */
function describedBy(configured: EngineConfig[], engineKey: string, type: DbmsType, port: number | undefined): boolean {
  const family = (t: DbmsType) => (t === "MariaDb" ? "MySql" : t);
  return configured.some(
    (engine) =>
      engine.engineKey === engineKey ||
      (engine.type !== "Sqlite" && family(engine.type) === family(type) && (LOCAL_HOSTS.has(engine.host) || engine.host.startsWith("/")) && (engine.port ?? port) === port),
  );
}

export interface EngineSet {
  engines: Engine[];
  unreachable: UnreachableEngine[];
}

/**
 * agent.json's engines plus what discovery finds (unless agent.json turns discovery off): the engines the
 * agent reports and backs up. A server agent.json describes is not discovered a second time.
 */
export async function resolveEngines(config: AgentConfig, credentials: CredentialLookup, places: DiscoveryPlaces = DEFAULT_PLACES): Promise<EngineSet> {
  if (!config.discovery.enabled) return { engines: createEngines(config, credentials), unreachable: [] };
  const found = await discoverEngines(config.discovery, credentials, places);
  const added = found.engines.filter((engine) => !describedBy(config.engines, engine.engineKey, engine.type, "port" in engine ? engine.port : undefined));
  const unreachable = found.unreachable.filter((engine) => !describedBy(config.engines, engine.engineKey, engine.dbmsType, engine.port));
  return { engines: createEngines({ ...config, engines: [...config.engines, ...added] }, credentials), unreachable };
}
