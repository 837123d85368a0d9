import { Readable } from "node:stream";
import { fullOnly, type Engine } from "../../src/engines/engine.ts";

/** An engine whose one database "dumps" fixed bytes: for tests where the destination is under test. */
export function fixedEngine(database: string, content: Buffer | string): Engine {
  return {
    engineKey: "fixed",
    dbmsType: "Sqlite",
    dumpExtension: "sql",
    version: async () => "1",
    listDatabases: async () => [database],
    assertModeSupported: (mode) => fullOnly("Fixed", mode),
    dump: async () => ({ stream: Readable.from([Buffer.from(content)]), release: async () => {} }),
  };
}
