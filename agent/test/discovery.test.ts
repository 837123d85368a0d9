import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../src/agent.ts";
import { main } from "../src/cli.ts";
import { AgentConfig } from "../src/config.ts";
import { DEFAULT_PLACES, discoverEngines, findSqliteFiles, mysqlGreeting, resolveEngines, type DiscoveryPlaces } from "../src/discovery.ts";
import { AgentStore, loadIdentity } from "../src/state.ts";
import { freePort } from "../dev/local-platform.ts";
import { dropPostgresDatabase, psql, scratchName } from "./support/databases.ts";
import { FakePlatform } from "./support/fake-platform.ts";

const noCredentials = { get: () => undefined };
let dir: string;
const servers: Server[] = [];
const sockets = new Set<Socket>();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ds-discovery-"));
});

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  for (const server of servers.splice(0)) await new Promise((done) => server.close(done));
  await rm(dir, { recursive: true, force: true });
});

/** A server that greets like MariaDB and then hangs up: found, but no login can work. */
async function refusingMariaDb(): Promise<number> {
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    const payload = Buffer.concat([Buffer.from([10]), Buffer.from("5.5.5-10.11.0-MariaDB\0"), Buffer.alloc(40)]);
    const header = Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, 0, 0]);
    socket.write(Buffer.concat([header, payload]));
    setTimeout(() => socket.destroy(), 50);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  servers.push(server);
  return (server.address() as { port: number }).port;
}

const nowhere = async (): Promise<DiscoveryPlaces> => ({ postgresSocketDirectories: [], postgresPort: await freePort(), mysqlSockets: [], mysqlPort: await freePort() });

describe("discovery", () => {
  it("finds the local PostgreSQL and MariaDB with their databases, with no configuration", async () => {
    const name = scratchName("ds_discovery");
    psql("postgres", `CREATE DATABASE "${name}"`);
    try {
      const found = await resolveEngines(AgentConfig.parse({}), noCredentials);
      expect(found.unreachable).toEqual([]);
      const byKey = new Map(found.engines.map((engine) => [engine.engineKey, engine]));
      expect(byKey.get("local-postgresql")?.dbmsType).toBe("PostgreSql");
      expect(byKey.get("local-mariadb")?.dbmsType).toBe("MariaDb");
      expect(await byKey.get("local-postgresql")!.listDatabases()).toContain(name);
      expect(await byKey.get("local-mariadb")!.listDatabases()).not.toContain("information_schema");
    } finally {
      dropPostgresDatabase(name);
    }
  });

  it("reports a server that refuses every login with the reason, typed by its greeting", async () => {
    const port = await refusingMariaDb();
    expect(await mysqlGreeting({ host: "127.0.0.1", port })).toBe("5.5.5-10.11.0-MariaDB");
    const found = await discoverEngines(AgentConfig.parse({}).discovery, noCredentials, { ...(await nowhere()), mysqlPort: port });
    expect(found.engines).toEqual([]);
    expect(found.unreachable).toEqual([{ engineKey: "local-mariadb", dbmsType: "MariaDb", port, error: expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:${port}: .+`)) }]);
  });

  it("reports nothing where nothing listens", async () => {
    expect(await discoverEngines(AgentConfig.parse({}).discovery, noCredentials, await nowhere())).toEqual({ engines: [], unreachable: [] });
  });

  it("lets agent.json's engine for the same server win, and adds agent.json's other engines", async () => {
    const config = AgentConfig.parse({
      engines: [
        { type: "PostgreSql", engineKey: "pg-main", host: "localhost", username: "postgres" },
        { type: "Sqlite", engineKey: "files", paths: [join(dir, "*.db")] },
      ],
    });
    const keys = (await resolveEngines(config, noCredentials)).engines.map((engine) => engine.engineKey);
    expect(keys).toContain("pg-main");
    expect(keys).toContain("files");
    expect(keys).toContain("local-mariadb");
    expect(keys).not.toContain("local-postgresql");
  });

  it("does nothing by itself when agent.json turns it off", async () => {
    const config = AgentConfig.parse({ discovery: { enabled: false }, engines: [{ type: "Sqlite", engineKey: "files", paths: [join(dir, "*.db")] }] });
    expect((await resolveEngines(config, noCredentials)).engines.map((engine) => engine.engineKey)).toEqual(["files"]);
  });

  it("finds SQLite files under configured folders by their header, not their name", async () => {
    await mkdir(join(dir, "app", "nested", "deeper"), { recursive: true });
    for (const path of [join(dir, "app", "shop.db"), join(dir, "app", "nested", "deeper", "settings.bin")]) {
      const db = new DatabaseSync(path);
      db.exec("CREATE TABLE t (x)");
      db.close();
    }
    await writeFile(join(dir, "app", "fake.db"), "not a database at all, though named like one");
    expect(await findSqliteFiles(join(dir, "app"))).toEqual([join(dir, "app", "nested", "deeper", "settings.bin"), join(dir, "app", "shop.db")]);

    const config = AgentConfig.parse({ discovery: { sqliteDirectories: [join(dir, "app")] } });
    const found = await resolveEngines(config, noCredentials, await nowhere());
    expect(found.engines.map((engine) => engine.engineKey)).toEqual(["local-sqlite"]);
    expect((await found.engines[0].listDatabases()).sort()).toEqual(["settings", "shop"]);

    const missing = AgentConfig.parse({ discovery: { sqliteDirectories: [join(dir, "absent")] } });
    expect((await resolveEngines(missing, noCredentials, await nowhere())).unreachable).toEqual([
      { engineKey: "local-sqlite", dbmsType: "Sqlite", error: expect.stringContaining(`Cannot search ${join(dir, "absent")}: ENOENT`) },
    ]);
  });

  it("uses the default places for a stock Debian or RHEL server", () => {
    expect(DEFAULT_PLACES.postgresSocketDirectories).toContain("/var/run/postgresql");
    expect(DEFAULT_PLACES.mysqlSockets).toContain("/run/mysqld/mysqld.sock");
    expect([DEFAULT_PLACES.postgresPort, DEFAULT_PLACES.mysqlPort]).toEqual([5432, 3306]);
  });
});

describe("a running agent with discovery", () => {
  it("reports an unreachable engine in its inventory with the reason and a Warning log line", async () => {
    const platform = new FakePlatform();
    const server = await platform.start();
    try {
      const token = `reg_${randomUUID()}`;
      platform.registrationTokens.add(token);
      const stateDir = join(dir, "state");
      expect(await main(["enroll", "--server", server, "--token", token, "--state-dir", stateDir])).toBe(0);
      const port = await refusingMariaDb();
      const config = AgentConfig.parse({});
      const store = await AgentStore.open(stateDir);
      const places = { ...(await nowhere()), mysqlPort: port };
      const discover = () => resolveEngines(config, store, places);
      const agent = new Agent({ identity: await loadIdentity(stateDir), stateDir, config, store, engines: [], discover, print: () => {}, backoff: { initialMs: 20, maxMs: 100 } });
      agent.start();
      try {
        await platform.waitFor((frames) => frames.some((f) => f.type === "inventory"), "an inventory");
        const [inventory] = platform.ofType("inventory");
        expect(inventory.engines).toEqual([{ engineKey: "local-mariadb", dbmsType: "MariaDb", version: "", databases: [], error: expect.stringContaining(`127.0.0.1:${port}`) }]);
        const warning = platform.ofType("log").find((f) => f.severity === "Warning");
        expect(warning?.message).toMatch(new RegExp(`^Engine local-mariadb \\(MariaDb\\) is not reachable: 127\\.0\\.0\\.1:${port}: `));
      } finally {
        await agent.stop();
        store.close();
      }
    } finally {
      await platform.stop();
    }
  });
});
