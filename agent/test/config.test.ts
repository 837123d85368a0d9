import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ds-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(content: string): Promise<string> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, content);
  return path;
}

describe("agent.json", () => {
  it("the documented example is a valid configuration", async () => {
    const config = await loadConfig(resolve(import.meta.dirname, "../agent.example.json"));
    expect(config.engines.map((engine) => [engine.type, engine.engineKey])).toEqual([
      ["PostgreSql", "pg-main"],
      ["MariaDb", "mariadb"],
      ["Sqlite", "app-files"],
    ]);
    expect(config.compression).toBe("gzip");
  });

  it("fills defaults", async () => {
    const config = await loadConfig(await configFile(JSON.stringify({ engines: [{ type: "PostgreSql", engineKey: "pg" }] })));
    expect(config.engines[0]).toMatchObject({ host: "127.0.0.1", format: "custom" });
    expect(config.inventoryIntervalSeconds).toBe(300);
  });

  it("explains what is wrong in one line", async () => {
    await expect(loadConfig(join(dir, "absent.json"))).rejects.toThrow(`Config file ${join(dir, "absent.json")} not found (see agent/agent.example.json).`);
    const broken = await configFile("{ engines: [");
    await expect(loadConfig(broken)).rejects.toThrow(`Config file ${broken} is not valid JSON.`);
    const twice = await configFile(JSON.stringify({ engines: [{ type: "Sqlite", engineKey: "a", paths: ["x.db"] }, { type: "Sqlite", engineKey: "a", paths: ["y.db"] }] }));
    await expect(loadConfig(twice)).rejects.toThrow(`Config file ${twice}: engines.1.engineKey: engineKey "a" is used twice`);
    const unknownType = await configFile(JSON.stringify({ engines: [{ type: "Oracle", engineKey: "o" }] }));
    await expect(loadConfig(unknownType)).rejects.toThrow(/engines\.0\.type/);
    const noPaths = await configFile(JSON.stringify({ engines: [{ type: "Sqlite", engineKey: "s", paths: [] }] }));
    await expect(loadConfig(noPaths)).rejects.toThrow(/engines\.0\.paths/);
  });
});
