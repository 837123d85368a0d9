import type { AgentConfig } from "../config.ts";
import type { CredentialLookup } from "../types.ts";
import type { Engine } from "./engine.ts";
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

export interface InventoryEngine {
  engineKey: string;
  dbmsType: string;
  version: string;
  databases: { name: string }[];
  /** Why the engine could not be listed (it is reported with no databases). */
  error?: string;
}

/** What every engine offers now; an engine that cannot be reached is reported with no databases and logged. */
export async function collectInventory(engines: Engine[], onError: (engine: Engine, error: Error) => void): Promise<InventoryEngine[]> {
  return Promise.all(
    engines.map(async (engine) => {
      try {
        const [version, names] = await Promise.all([engine.version(), engine.listDatabases()]);
        return { engineKey: engine.engineKey, dbmsType: engine.dbmsType, version, databases: names.map((name) => ({ name })) };
      } catch (error) {
        onError(engine, error as Error);
        return { engineKey: engine.engineKey, dbmsType: engine.dbmsType, version: "", databases: [], error: (error as Error).message.slice(0, 1000) };
      }
    }),
  );
}
