import { readDump, sqlText, sumOfCounts, type DatabaseCounts, type RestoreTarget } from "./restore-target.ts";
import type { Readable } from "node:stream";
import type { PostgresEngineConfig } from "../config.ts";
import type { CredentialLookup } from "../types.ts";
import { onlyConfigured, resolveLogin, RESTORE_BY_PLATFORM, type ChainBackupRequest, type ChainPosition, type Engine, type EngineCapabilities, type ServerLogin } from "./engine.ts";
import { dropSlot, postgresModes, stagePostgresBackup } from "./postgres-physical.ts";
import { runForOutput, runWithInput, streamFrom, type Command } from "./process.ts";

export function postgresArgs(login: ServerLogin): { args: string[]; env: Record<string, string | undefined> } {
  const args = ["--no-password", "-h", login.host];
  if (login.port) args.push("-p", String(login.port));
  if (login.username) args.push("-U", login.username);
  // The password travels in the environment, never on a command line that `ps` shows.
  return { args, env: { PGPASSWORD: login.password, PGCONNECT_TIMEOUT: "10" } };
}

/**
 * `--dbname` for a database *name*. A bare `-d <name>` is read as a connection string when it contains
 * `=` or starts with `postgres://`, so a database named `host=elsewhere …` would send the login (and
 * PGPASSWORD) to another server; a quoted conninfo holding only dbname is always just a name.
 */
export function dbnameArg(database: string): string {
  return `--dbname=dbname='${database.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

function psql(login: ServerLogin, database: string, sql: string): Command {
  const { args, env } = postgresArgs(login);
  return { command: "psql", args: [...args, dbnameArg(database), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], env };
}

export class PostgresEngine implements Engine {
  readonly dbmsType = "PostgreSql" as const;
  readonly engineKey: string;
  readonly dumpExtension: string;
  private readonly config: PostgresEngineConfig;
  private readonly credentials: CredentialLookup;

  constructor(config: PostgresEngineConfig, credentials: CredentialLookup) {
    this.config = config;
    this.credentials = credentials;
    this.engineKey = config.engineKey;
    this.dumpExtension = config.format === "plain" ? "sql" : "dump";
  }

  private login(): ServerLogin {
    return resolveLogin(this.config, this.credentials);
  }

  async version(): Promise<string> {
    return (await runForOutput(psql(this.login(), "postgres", "SHOW server_version"))).trim();
  }

  async listDatabases(): Promise<string[]> {
    const out = await runForOutput(
      psql(this.login(), "postgres", "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname"),
    );
    const names = out.split("\n").map((line) => line.trim()).filter(Boolean);
    return onlyConfigured(names, this.config.databases);
  }

  private query(sql: string): Promise<string> {
    return runForOutput(psql(this.login(), "postgres", sql));
  }

  async capabilities(): Promise<EngineCapabilities> {
    return { backupModes: await postgresModes((sql) => this.query(sql)), restore: RESTORE_BY_PLATFORM };
  }

  stageChainBackup(request: ChainBackupRequest): Promise<ChainPosition> {
    return stagePostgresBackup(this.login(), (sql) => this.query(sql), request);
  }

  releaseChain(position: ChainPosition): Promise<void> {
    return dropSlot((sql) => this.query(sql), position);
  }

  countDatabase(database: string): Promise<DatabaseCounts> {
    return this.restoreTarget().count(database);
  }

  restoreTarget(): RestoreTarget {
    const login = this.login();
    const query = (database: string, sql: string) => runForOutput(psql(login, database, sql));
    const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;
    return {
      exists: async (database) => (await query("postgres", `SELECT 1 FROM pg_database WHERE datname = ${sqlText(database)}`)).trim() !== "",
      drop: async (database) => void (await query("postgres", `DROP DATABASE IF EXISTS ${quoted(database)} WITH (FORCE)`)),
      load: (database, dumpPath, dumpExtension) => restorePostgres(login, database, dumpExtension, readDump(dumpPath)),
      async count(database) {
        const listed = await query(database, "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')");
        const tables = listed.split("\n").map((t) => t.trim()).filter(Boolean);
        return { tables: tables.length, rows: Number((await query(database, sumOfCounts(tables, (t) => t))).trim()) };
      },
      chain: { scheme: "postgres", login },
    };
  }

  async dump(database: string): Promise<{ stream: Readable; release(): Promise<void> }> {
    const { args, env } = postgresArgs(this.login());
    const format = this.config.format === "plain" ? "plain" : "custom";
    // Compression is the pipeline's job: -Z0 keeps pg_dump from compressing twice.
    const stream = streamFrom({ command: "pg_dump", args: [...args, `--format=${format}`, "-Z0", "--no-owner", dbnameArg(database)], env });
    return { stream, release: async () => {} };
  }
}

/** Restores a dump into `database` (created when missing): pg_restore for custom format, psql for SQL. */
export async function restorePostgres(login: ServerLogin, database: string, dumpExtension: string, input: Readable): Promise<void> {
  const { args, env } = postgresArgs(login);
  const exists = await runForOutput(psql(login, "postgres", `SELECT 1 FROM pg_database WHERE datname = '${database.replaceAll("'", "''")}'`));
  if (!exists.trim()) await runForOutput(psql(login, "postgres", `CREATE DATABASE "${database.replaceAll('"', '""')}"`));
  if (dumpExtension === "dump") {
    await runWithInput({ command: "pg_restore", args: [...args, "--no-owner", "--exit-on-error", dbnameArg(database)], env }, input);
  } else {
    await runWithInput({ command: "psql", args: [...args, "-X", "-q", "-v", "ON_ERROR_STOP=1", dbnameArg(database)], env }, input);
  }
}
