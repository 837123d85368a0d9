import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupDatabase } from "../src/backup.ts";
import { LocalDestination } from "../src/destinations/local.ts";
import { fileChecksum } from "../src/pipeline/restore-pipeline.ts";
import { fixedEngine } from "./support/fixed-engine.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ds-local-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("LocalStorage", () => {
  it("writes a file with its checksum file, reads it back for a restore, and removes both", async () => {
    const target = new LocalDestination({ destinationId: "00000000-0000-4000-8000-000000000001", name: "Disk", type: "LocalStorage", settings: { path: join(dir, "backups") } });
    const result = await backupDatabase({ engine: fixedEngine("app", "INSERT 1;\n".repeat(1000)), database: "app", mode: "Full", startedAt: new Date("2026-03-26T02:00:00Z"), destinations: [target], compression: "gzip" });
    expect((await readdir(join(dir, "backups"))).sort()).toEqual([result.fileName, `${result.fileName}.sha256`]);

    const chunks: Buffer[] = [];
    for await (const chunk of await target.download(result.fileName)) chunks.push(chunk as Buffer);
    const fetched = Buffer.concat(chunks);
    expect(fetched.length).toBe(result.fileSize);
    expect(await fileChecksum(join(dir, "backups", result.fileName))).toBe(result.checksum);

    await target.remove(result.fileName);
    expect(await readdir(join(dir, "backups"))).toEqual([]);
    await expect(target.download(result.fileName)).rejects.toThrow(`Destination "Disk": ${result.fileName} does not exist.`);
  });
});
