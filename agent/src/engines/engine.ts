import type { Readable } from "node:stream";
import type { BackupMode, Credential, CredentialLookup, DbmsType } from "../types.ts";

export interface Engine {
  readonly engineKey: string;
  readonly dbmsType: DbmsType;
  /** File name extension of this engine's dump format: `dump`, `sql`, `sqlite`. */
  readonly dumpExtension: string;
  version(): Promise<string>;
  listDatabases(): Promise<string[]>;
  /** Throws UnsupportedModeError for a mode this engine cannot back up. */
  assertModeSupported(mode: BackupMode): void;
  /** The dump as a stream; it errors if the dump tool fails. `release` frees staging space afterwards. */
  dump(database: string): Promise<{ stream: Readable; release(): Promise<void> }>;
}

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

export function fullOnly(engineName: string, mode: BackupMode): void {
  if (mode === "Full") return;
  throw new UnsupportedModeError(
    `${engineName} backups support only the Full mode; ${mode} backups are not available for this engine in this agent version.`,
  );
}

/** The databases agent.json offers: all found, or only those its `databases` list names. */
export function onlyConfigured(found: string[], configured: string[] | undefined): string[] {
  return configured ? found.filter((name) => configured.includes(name)) : found;
}
