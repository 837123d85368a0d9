import { randomBytes, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DatabaseSync } from "node:sqlite";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentJob } from "../../src/protocol/agent-protocol.ts";
import { backupDatabase } from "../src/backup.ts";
import { AzureBlobDestination } from "../src/destinations/azure-blob.ts";
import type { Destination } from "../src/destinations/destination.ts";
import { SqliteEngine } from "../src/engines/sqlite.ts";
import { decodeBackupFile, verifyChecksum } from "../src/pipeline/restore-pipeline.ts";
import { restoreBackup } from "../src/restore.ts";
import { JobRunner } from "../src/runner.ts";
import { AgentStore } from "../src/state.ts";
import type { Credential } from "../src/types.ts";
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite } from "./support/azurite.ts";
import { fixedEngine } from "./support/fixed-engine.ts";

const CREDENTIAL_ID = randomUUID();
const PASSPHRASE = "azure test passphrase";

let dir: string;
let azurite: Awaited<ReturnType<typeof startAzurite>>;
let credential: Credential;
let container: ContainerClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ds-azure-"));
  azurite = await startAzurite(dir);
  credential = { $type: "ConnectionStringCredential", connectionString: azurite.connectionString };
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("backups");
  await container.create();
});

afterAll(async () => {
  await azurite?.stop();
  await rm(dir, { recursive: true, force: true });
});

function destination(settings: Record<string, unknown> = {}, override?: Credential) {
  return new AzureBlobDestination(
    { destinationId: randomUUID(), name: "Blob", type: "AzureBlobStorage", settings: { container: "backups", prefix: "nightly", ...settings }, credentialReferenceId: CREDENTIAL_ID },
    { get: (id) => (id === CREDENTIAL_ID ? (override ?? credential) : undefined) },
    { blockSize: 4 * 1024 * 1024 },
  );
}

async function blobNames(prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix })) names.push(blob.name);
  return names.sort();
}

async function downloadTo(target: Destination, fileName: string): Promise<string> {
  const path = join(dir, `${randomUUID()}-${fileName}`);
  await pipeline(await target.download(fileName), createWriteStream(path, { flags: "wx" }));
  return path;
}

describe("AzureBlobStorage against Azurite", () => {
  it("streams a large file in blocks under the prefix, with its checksum blob, and downloads it for restore", async () => {
    const content = randomBytes(10 * 1024 * 1024); // incompressible: 3 blocks of 4 MiB after gzip
    const target = destination();
    const result = await backupDatabase({ engine: fixedEngine("data", content), database: "data", mode: "Full", startedAt: new Date("2026-03-26T02:00:00Z"), destinations: [target], compression: "gzip", passphrase: PASSPHRASE, encryptOptions: { scrypt: { log2N: 10, r: 8, p: 1 } } });
    expect(result.fileName).toBe("data_Full_20260326_020000.sql.gz.enc");
    expect(await blobNames("nightly/data_")).toEqual([`nightly/${result.fileName}`, `nightly/${result.fileName}.sha256`]);
    const blob = container.getBlockBlobClient(`nightly/${result.fileName}`);
    const blocks = await blob.getBlockList("committed");
    expect(blocks.committedBlocks?.length).toBe(3);
    expect((await blob.getProperties()).contentLength).toBe(result.fileSize);
    const sidecar = (await container.getBlockBlobClient(`nightly/${result.fileName}.sha256`).downloadToBuffer()).toString();
    expect(sidecar).toBe(`${result.checksum.slice(7)}  ${result.fileName}\n`);

    const local = await downloadTo(target, result.fileName);
    await verifyChecksum(local, result.checksum);
    const parts: Buffer[] = [];
    await decodeBackupFile({ path: local, passphrase: PASSPHRASE, sink: new Writable({ write(chunk, _e, cb) { parts.push(chunk); cb(); } }) });
    expect(Buffer.concat(parts).equals(content)).toBe(true);
  });

  it("uploads a small file at once, never overwrites it, removes it with its checksum blob, and says when a file is missing", async () => {
    const target = destination();
    const startedAt = new Date("2026-03-27T02:00:00Z");
    const result = await backupDatabase({ engine: fixedEngine("small", Buffer.from("small")), database: "small", mode: "Full", startedAt, destinations: [target], compression: "gzip" });
    expect(await blobNames("nightly/small_")).toEqual([`nightly/${result.fileName}`, `nightly/${result.fileName}.sha256`]);

    // Same database, mode and second: the second run fails instead of replacing the first file.
    await expect(backupDatabase({ engine: fixedEngine("small", Buffer.from("other")), database: "small", mode: "Full", startedAt, destinations: [target], compression: "gzip" })).rejects.toThrow(
      `Destination "Blob": ${result.fileName} already exists.`,
    );
    await verifyChecksum(await downloadTo(target, result.fileName), result.checksum);

    await target.remove(result.fileName);
    expect(await blobNames("nightly/small_")).toEqual([]);
    await target.remove(result.fileName); // already gone: fine
    await expect(target.download(result.fileName)).rejects.toThrow(`Destination "Blob": ${result.fileName} does not exist.`);
  });

  it("fails with Azure's own error for a missing container or a wrong key, and needs an Azure credential", async () => {
    const run = (target: Destination) => backupDatabase({ engine: fixedEngine("x", Buffer.from("x")), database: "x", mode: "Full", startedAt: new Date(), destinations: [target], compression: "gzip" });
    await expect(run(destination({ container: "nope" }))).rejects.toThrow(/uploading the file failed with HTTP 404 \(ContainerNotFound\)/);
    const wrongKey = azurite.connectionString.replace(AZURITE_KEY, Buffer.alloc(64, 1).toString("base64"));
    await expect(run(destination({}, { $type: "ConnectionStringCredential", connectionString: wrongKey }))).rejects.toThrow(/HTTP 403 \(AuthorizationFailure|HTTP 403 \(AuthenticationFailed/);
    expect(() => destination({}, { $type: "ConnectionStringCredential", connectionString: "not a connection string" })).toThrow(/the connection string is not a valid Azure Storage connection string/);
    expect(() => destination({}, { $type: "S3Credential", accessKeyId: "a", secretAccessKey: "b", region: "auto" })).toThrow(
      'Destination "Blob" needs an AzureBlobCredential or a ConnectionStringCredential, not a S3Credential.',
    );
    // Account name and key build a shared-key client for <account>.blob.core.windows.net (not reachable here).
    expect(destination({}, { $type: "AzureBlobCredential", accountName: AZURITE_ACCOUNT, accountKey: AZURITE_KEY })).toBeInstanceOf(AzureBlobDestination);
  });

  it("runs a job end to end: backup, listed file, retention delete reported as files.deleted, restore from the downloaded file", async () => {
    const work = await mkdtemp(join(dir, "job-"));
    const source = join(work, "shop.db");
    const db = new DatabaseSync(source);
    db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL); INSERT INTO orders (total) VALUES (9.5), (12.25);");
    db.close();

    const store = await AgentStore.open(join(work, "state"));
    store.saveCredential(CREDENTIAL_ID, credential);
    const job: AgentJob = {
      backupJobId: randomUUID(),
      name: "Shop",
      isEnabled: true,
      schedules: [],
      retentionDays: 7,
      databases: [{ databaseId: randomUUID(), name: "shop", dbmsType: "Sqlite", engineKey: "files" }],
      destinations: [{ destinationId: randomUUID(), name: "Blob", type: "AzureBlobStorage", settings: { container: "backups", prefix: "shop" }, credentialReferenceId: CREDENTIAL_ID }],
      encryption: { enabled: false, algorithm: null, passphrase: null },
    };
    store.saveJob(job);
    const frames: ({ id: string; type: string } & Record<string, unknown>)[] = [];
    let clock = new Date("2026-03-26T02:00:00Z");
    const runner = new JobRunner({
      store,
      engines: [new SqliteEngine({ type: "Sqlite", engineKey: "files", paths: [source] }, join(work, "staging"))],
      compression: "gzip",
      now: () => clock,
      send: (frame) => {
        store.enqueue(frame);
        frames.push(frame);
      },
      report: () => {},
    });
    const runAt = async (at: string) => {
      clock = new Date(at);
      runner.trigger({ backupJobId: job.backupJobId, mode: "Full", trigger: "Schedule" });
      await runner.idle();
    };
    try {
      await runAt("2026-03-26T02:00:00Z");
      await runAt("2026-04-04T02:00:00Z"); // 9 days later: the first file is past retentionDays
      const completed = frames.filter((f) => f.type === "backup.completed") as unknown as { files: { fileName: string; checksum: string; destinationId: string }[] }[];
      expect(completed.map((c) => c.files.map((f) => f.fileName))).toEqual([["shop_Full_20260326_020000.sqlite.gz"], ["shop_Full_20260404_020000.sqlite.gz"]]);
      expect(await blobNames("shop/")).toEqual(["shop/shop_Full_20260404_020000.sqlite.gz", "shop/shop_Full_20260404_020000.sqlite.gz.sha256"]);

      const deleted = frames.filter((f) => f.type === "files.deleted");
      expect(deleted).toEqual([
        { type: "files.deleted", id: expect.any(String), files: [{ destinationId: job.destinations[0].destinationId, fileName: "shop_Full_20260326_020000.sqlite.gz" }], reason: "retention" },
      ]);
      // Kept in the outbox until the platform acknowledges it, like every other report.
      expect(store.isPending(deleted[0].id)).toBe(true);

      const kept = completed[1].files[0];
      const target = new AzureBlobDestination(job.destinations[0], store);
      const local = await downloadTo(target, kept.fileName);
      const restored = join(work, "restored.db");
      await restoreBackup({ file: local, checksum: kept.checksum, to: restored });
      const copy = new DatabaseSync(restored, { readOnly: true });
      expect(copy.prepare("SELECT total FROM orders ORDER BY id").all()).toEqual([{ total: 9.5 }, { total: 12.25 }]);
      copy.close();
    } finally {
      store.close();
    }
  });
});
