import { Readable } from "node:stream";
import { fullOnlyCapabilities, type Engine } from "../../src/engines/engine.ts";

/** An engine whose one database "dumps" fixed bytes: for tests where the destination is under test. */
export function fixedEngine(database: string, content: Buffer | string): Engine {
  return {
    engineKey: "fixed",
    dbmsType: "Sqlite",
    dumpExtension: "sql",
    version: async () => "1",
    listDatabases: async () => [database],
    capabilities: fullOnlyCapabilities,
    dump: async () => ({ stream: Readable.from([Buffer.from(content)]), release: async () => {} }),
  };
}
