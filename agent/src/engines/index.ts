import type { AgentConfig } from "../config.ts";
import type { CredentialLookup } from "../types.ts";
import { fullOnlyCapabilities, type Engine, type EngineCapabilities } from "./engine.ts";
import { MysqlEngine } from "./mysql.ts";
import { PostgresEngine } from "./postgres.ts";
import { SqliteEngine } from "./sqlite.ts";

export function createEngines(config: AgentConfig, credentials: CredentialLookup): Engine[] {
  return config.engines.map((engine) => {
    switch (engine.type) {
      case "PostgreSql":
        return new PostgresEngine(engine, credentials);
      case "MySql":
      case "MariaDb":
        return new MysqlEngine(engine, credentials);
      case "Sqlite":
        return new SqliteEngine(engine, config.tempDirectory);
    }
  });
}

/** At start: SQLite engines make their private staging directory and delete copies a crashed run left. */
export async function prepareEngines(engines: Engine[]): Promise<void> {
  await Promise.all(engines.map((engine) => (engine instanceof SqliteEngine ? engine.stagingDirectory() : undefined)));
}

export interface InventoryEngine {
  engineKey: string;
  dbmsType: string;
  version: string;
  databases: { name: string }[];
  capabilities: EngineCapabilities;
  /** Why the engine could not be listed (it is reported with no databases). */
  error?: string;
}

/**
 * What every engine offers now; an engine that cannot be reached is reported with no databases and
 * Full-only capabilities, and logged.
 */
export async function collectInventory(engines: Engine[], onError: (engine: Engine, error: Error) => void): Promise<InventoryEngine[]> {
  return Promise.all(
    engines.map(async (engine) => {
      try {
        const [version, names, capabilities] = await Promise.all([engine.version(), engine.listDatabases(), engine.capabilities()]);
        return { engineKey: engine.engineKey, dbmsType: engine.dbmsType, version, databases: names.map((name) => ({ name })), capabilities };
      } catch (error) {
        onError(engine, error as Error);
        return { engineKey: engine.engineKey, dbmsType: engine.dbmsType, version: "", databases: [], capabilities: await fullOnlyCapabilities(), error: (error as Error).message.slice(0, 1000) };
      }
    }),
  );
}
