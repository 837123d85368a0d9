import type { Readable } from "node:stream";
import { FULL_ONLY_CAPABILITIES, type EngineCapabilities } from "../../../src/protocol/agent-protocol.ts";
import type { BackupMode, Credential, CredentialLookup, DbmsType } from "../types.ts";
import type { DatabaseCounts, RestoreTarget } from "./restore-target.ts";

export type { EngineCapabilities };

/** What an engine remembers about the last backup of a chain (binlog position, LSN, slot): plain JSON. */
export type ChainPosition = Record<string, unknown>;

export interface ChainBackupRequest {
  database: string;
  mode: BackupMode;
  /** The position after the chain's previous backup; absent for the first Full. */
  previous?: ChainPosition;
  /** Stable per job and database (names a replication slot, say). */
  chainKey: string;
  /** An empty folder to write the backup's files into. */
  directory: string;
}

export interface Engine {
  readonly engineKey: string;
  readonly dbmsType: DbmsType;
  /** File name extension of this engine's dump format: `dump`, `sql`, `sqlite`. */
  readonly dumpExtension: string;
  version(): Promise<string>;
  listDatabases(): Promise<string[]>;
  /** The modes this engine can back up here (tools installed, server settings) and whether it can restore. */
  capabilities(): Promise<EngineCapabilities>;
  /** The dump as a stream; it errors if the dump tool fails. `release` frees staging space afterwards. */
  dump(database: string): Promise<{ stream: Readable; release(): Promise<void> }>;
  /**
   * Physical backups that form a chain (Full → Differential → TransactionLog): writes one into
   * `directory` and returns the chain's new position. Absent where only logical dumps exist.
   */
  stageChainBackup?(request: ChainBackupRequest): Promise<ChainPosition>;
  /** The job is gone: frees what its chain holds on the server (a replication slot keeps WAL forever). */
  releaseChain?(position: ChainPosition): Promise<void>;
  /** Restores from the platform (`restore.run`, `verify.run`) and the counts drills compare. */
  restoreTarget?(): RestoreTarget;
  /** Exact table and row counts of a database, recorded with each backup for drills to compare. */
  countDatabase?(database: string): Promise<DatabaseCounts>;
}

export const ENGINE_NAMES: Record<DbmsType, string> = { PostgreSql: "PostgreSQL", MySql: "MySQL", MariaDb: "MariaDB", Sqlite: "SQLite" };

/** Throws UnsupportedModeError for a mode the engine cannot back up. */
export async function assertCapable(engine: Engine, mode: BackupMode): Promise<void> {
  const { backupModes } = await engine.capabilities();
  if (backupModes.includes(mode)) return;
  throw new UnsupportedModeError(
    `${ENGINE_NAMES[engine.dbmsType]} engine "${engine.engineKey}" cannot make ${mode} backups here (it can: ${backupModes.join(", ")}).`,
  );
}

/** This agent handles `restore.run` and `verify.run` (platform-restore.ts) for every engine. */
export const RESTORE_BY_PLATFORM = true;

/** Logical dumps only; restored from the platform or with the `restore` command. */
export const fullOnlyCapabilities = async (): Promise<EngineCapabilities> => ({ ...FULL_ONLY_CAPABILITIES, restore: RESTORE_BY_PLATFORM });

export class UnsupportedModeError extends Error {
  override name = "UnsupportedModeError";
}

export interface ServerLogin {
  host: string;
  port?: number;
  username?: string;
  password?: string;
}

/**
 * Inline login from agent.json, overridden field by field by a platform credential: BasicCredential
 * gives username/password, ConnectionStringCredential a URL (`postgres://user:pass@host:5432/db`).
 */
export function resolveLogin(
  config: { host: string; port?: number; username?: string; password?: string; credentialReferenceId?: string },
  credentials: CredentialLookup,
): ServerLogin {
  const login: ServerLogin = { host: config.host, port: config.port, username: config.username, password: config.password };
  if (!config.credentialReferenceId) return login;
  const credential: Credential | undefined = credentials.get(config.credentialReferenceId);
  if (!credential) {
    throw new Error(`Credential ${config.credentialReferenceId} has not been received from the platform yet.`);
  }
  if (credential.$type === "BasicCredential") {
    return { ...login, username: String(credential.username ?? ""), password: String(credential.password ?? "") };
  }
  if (credential.$type === "ConnectionStringCredential") {
    const url = new URL(String(credential.connectionString));
    return {
      host: url.hostname || login.host,
      port: url.port ? Number(url.port) : login.port,
      username: url.username ? decodeURIComponent(url.username) : login.username,
      password: url.password ? decodeURIComponent(url.password) : login.password,
    };
  }
  throw new Error(`Credential ${config.credentialReferenceId} is a ${credential.$type}; a database engine needs a BasicCredential or ConnectionStringCredential.`);
}

/** The databases agent.json offers: all found, or only those its `databases` list names. */
export function onlyConfigured(found: string[], configured: string[] | undefined): string[] {
  return configured ? found.filter((name) => configured.includes(name)) : found;
}
