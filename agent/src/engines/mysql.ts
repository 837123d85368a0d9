import { readDump, sqlText, sumOfCounts, type DatabaseCounts, type RestoreTarget } from "./restore-target.ts";
import type { Readable } from "node:stream";
import type { MysqlEngineConfig } from "../config.ts";
import type { CredentialLookup } from "../types.ts";
import { fullOnlyCapabilities, onlyConfigured, resolveLogin, RESTORE_BY_PLATFORM, type ChainBackupRequest, type ChainPosition, type Engine, type EngineCapabilities, type ServerLogin } from "./engine.ts";
import { mariadbModes, stageMariadbBackup } from "./mariadb-physical.ts";
import { firstInstalled, runForOutput, runWithInput, streamFrom } from "./process.ts";

const SYSTEM_DATABASES = new Set(["information_schema", "performance_schema", "mysql", "sys"]);

export function mysqlArgs(login: ServerLogin): { args: string[]; env: Record<string, string | undefined> } {
  // A host that is a path is the server's Unix socket (where discovery finds a local server).
  const args = login.host.startsWith("/") ? ["--protocol=SOCKET", "--socket", login.host] : ["-h", login.host, "--protocol=TCP"];
  if (login.port) args.push("-P", String(login.port));
  if (login.username) args.push("-u", login.username);
  // MYSQL_PWD keeps the password off the command line.
  return { args, env: { MYSQL_PWD: login.password } };
}

const clientTool = () => firstInstalled(["mariadb", "mysql"]);
const dumpTool = () => firstInstalled(["mariadb-dump", "mysqldump"]);
const quoteIdentifier = (name: string) => "`" + name.replaceAll("`", "``") + "`";

export class MysqlEngine implements Engine {
  readonly dbmsType: "MySql" | "MariaDb";
  readonly engineKey: string;
  readonly dumpExtension = "sql";
  private readonly config: MysqlEngineConfig;
  private readonly credentials: CredentialLookup;

  constructor(config: MysqlEngineConfig, credentials: CredentialLookup) {
    this.config = config;
    this.credentials = credentials;
    this.engineKey = config.engineKey;
    this.dbmsType = config.type;
  }

  private login(): ServerLogin {
    return resolveLogin(this.config, this.credentials);
  }

  private async query(sql: string): Promise<string> {
    const { args, env } = mysqlArgs(this.login());
    return runForOutput({ command: await clientTool(), args: [...args, "-N", "-B", "-e", sql], env });
  }

  async version(): Promise<string> {
    return (await this.query("SELECT VERSION()")).trim();
  }

  async listDatabases(): Promise<string[]> {
    const names = (await this.query("SHOW DATABASES")).split("\n").map((line) => line.trim()).filter((name) => name && !SYSTEM_DATABASES.has(name));
    return onlyConfigured(names, this.config.databases);
  }

  /** MariaDB on this machine with mariadb-backup installed also does Differential, and TransactionLog with log_bin on. */
  async capabilities(): Promise<EngineCapabilities> {
    // mariadb-backup cannot copy MySQL 8's data files: MySQL stays with logical Full dumps.
    if (this.dbmsType !== "MariaDb") return fullOnlyCapabilities();
    return { backupModes: await mariadbModes(this.login(), (sql) => this.query(sql)), restore: RESTORE_BY_PLATFORM };
  }

  stageChainBackup(request: ChainBackupRequest): Promise<ChainPosition> {
    return stageMariadbBackup(this.login(), (sql) => this.query(sql), request);
  }

  countDatabase(database: string): Promise<DatabaseCounts> {
    return this.restoreTarget().count(database);
  }

  restoreTarget(): RestoreTarget {
    const login = this.login();
    const query = (sql: string) => this.query(sql);
    return {
      exists: async (database) => (await query(`SELECT 1 FROM information_schema.schemata WHERE schema_name = ${sqlText(database)}`)).trim() !== "",
      drop: async (database) => void (await query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)}`)),
      load: (database, dumpPath) => restoreMysql(login, database, readDump(dumpPath)),
      async count(database) {
        const listed = await query(`SELECT table_name FROM information_schema.tables WHERE table_schema = ${sqlText(database)} AND table_type = 'BASE TABLE'`);
        const tables = listed.split("\n").map((t) => t.trim()).filter(Boolean);
        return { tables: tables.length, rows: Number((await query(sumOfCounts(tables, (t) => `${quoteIdentifier(database)}.${quoteIdentifier(t)}`))).trim()) };
      },
      chain: { scheme: "mariadb", login },
    };
  }

  async dump(database: string): Promise<{ stream: Readable; release(): Promise<void> }> {
    const { args, env } = mysqlArgs(this.login());
    // One consistent snapshot for InnoDB without locking writers; no CREATE DATABASE so it restores under any name.
    const dumpArgs = [...args, "--single-transaction", "--quick", "--routines", "--triggers", "--events", "--hex-blob", "--", database];
    return { stream: streamFrom({ command: await dumpTool(), args: dumpArgs, env }), release: async () => {} };
  }
}

/** Restores an SQL dump into `database`, created when missing. */
export async function restoreMysql(login: ServerLogin, database: string, input: Readable): Promise<void> {
  const { args, env } = mysqlArgs(login);
  const client = await clientTool();
  await runForOutput({ command: client, args: [...args, "-e", `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}`], env });
  await runWithInput({ command: client, args: [...args, database], env }, input);
}
