import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createWriteStream } from "node:fs";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AwsClient } from "aws4fetch";
// @ts-expect-error s3rver ships no types
import S3rver from "s3rver";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { backupDatabase } from "../src/backup.ts";
import { GoogleCloudDestination } from "../src/destinations/google-cloud.ts";
import { S3Destination } from "../src/destinations/s3.ts";
import { decodeBackupFile, verifyChecksum } from "../src/pipeline/restore-pipeline.ts";
import type { Credential } from "../src/types.ts";
import { fixedEngine } from "./support/fixed-engine.ts";

const CREDENTIAL_ID = randomUUID();
// s3rver's built-in account: it checks SigV4 signatures against it.
const GOOD: Credential = { $type: "S3Credential", accessKeyId: "S3RVER", secretAccessKey: "S3RVER", region: "us-east-1" };
const PASSPHRASE = "s3 test passphrase";

let server: { run(): Promise<{ port: number }>; close(): Promise<void> };
let endpoint: string;
let dir: string;
const raw = new AwsClient({ accessKeyId: "S3RVER", secretAccessKey: "S3RVER", region: "us-east-1", service: "s3" });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ds-s3-"));
  server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: join(dir, "store"), configureBuckets: [{ name: "backups" }] });
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

function destination(credential: Credential | undefined, settings: Record<string, unknown> = {}) {
  return new S3Destination(
    { destinationId: randomUUID(), name: "Local S3", type: "S3Storage", settings: { bucket: "backups", region: "us-east-1", prefix: "nightly", endpoint, ...settings }, credentialReferenceId: CREDENTIAL_ID },
    { get: (id) => (id === CREDENTIAL_ID ? credential : undefined) },
    { partSize: 5 * 1024 * 1024 },
  );
}

async function download(key: string): Promise<Response> {
  return raw.fetch(`${endpoint}/backups/${key}`);
}

describe("S3Storage", () => {
  it("uploads a large file in several parts under the prefix, with its checksum file, and it restores", async () => {
    const content = randomBytes(12 * 1024 * 1024); // incompressible: > 2 parts after gzip
    const startedAt = new Date("2026-03-26T02:00:00Z");
    const result = await backupDatabase({ engine: fixedEngine("data", content), database: "data", mode: "Full", startedAt, destinations: [destination(GOOD)], compression: "gzip", passphrase: PASSPHRASE, encryptOptions: { scrypt: { log2N: 10, r: 8, p: 1 } } });
    expect(result.fileName).toBe("data_Full_20260326_020000.sql.gz.enc");
    const response = await download(`nightly/${result.fileName}`);
    expect(response.status).toBe(200);
    const stored = Buffer.from(await response.arrayBuffer());
    expect(stored.length).toBe(result.fileSize);
    const sidecar = await (await download(`nightly/${result.fileName}.sha256`)).text();
    expect(sidecar).toBe(`${result.checksum.slice(7)}  ${result.fileName}\n`);

    const local = join(dir, result.fileName);
    await writeFile(local, stored);
    await verifyChecksum(local, result.checksum);
    const parts: Buffer[] = [];
    await decodeBackupFile({ path: local, passphrase: PASSPHRASE, sink: new Writable({ write(chunk, _e, cb) { parts.push(chunk); cb(); } }) });
    expect(Buffer.concat(parts).equals(content)).toBe(true);
  });

  it("uploads a small file with one PUT and removes it (and its checksum file) for retention", async () => {
    const target = destination(GOOD);
    const result = await backupDatabase({ engine: fixedEngine("data", Buffer.from("small")), database: "data", mode: "Full", startedAt: new Date("2026-03-27T02:00:00Z"), destinations: [target], compression: "gzip" });
    expect((await download(`nightly/${result.fileName}`)).status).toBe(200);
    const local = join(dir, `fetched-${result.fileName}`);
    await pipeline(await target.download(result.fileName), createWriteStream(local));
    await verifyChecksum(local, result.checksum);
    await target.remove(result.fileName);
    expect((await download(`nightly/${result.fileName}`)).status).toBe(404);
    expect((await download(`nightly/${result.fileName}.sha256`)).status).toBe(404);
    await target.remove(result.fileName); // already gone: fine
    await expect(target.download(result.fileName)).rejects.toThrow(`Destination "Local S3": ${result.fileName} does not exist.`);
  });

  // s3rver does not check signatures, so a wrong secret cannot be shown failing here; a missing bucket can.
  it("fails with the store's own error for a missing bucket", async () => {
    await expect(
      backupDatabase({ engine: fixedEngine("data", Buffer.from("x")), database: "data", mode: "Full", startedAt: new Date(), destinations: [destination(GOOD, { bucket: "nope" })], compression: "gzip" }),
    ).rejects.toThrow(/HTTP 404 \(NoSuchBucket/);
  });

  it("needs an S3Credential that the platform has sent", () => {
    expect(() => destination(undefined)).toThrow(`Destination "Local S3": credential ${CREDENTIAL_ID} has not been received from the platform yet.`);
    expect(() => destination({ $type: "BasicCredential", username: "u", password: "p" })).toThrow('Destination "Local S3" needs an S3Credential, not a BasicCredential.');
  });
});

describe("GoogleCloudStorage (the S3 implementation on Cloud Storage's XML API)", () => {
  const HMAC: Credential = { $type: "S3Credential", accessKeyId: "GOOG1EXAMPLEACCESSID", secretAccessKey: "hmac-secret", region: "auto" };
  const gcs = (credential: Credential, options: { endpoint?: string } = {}) =>
    new GoogleCloudDestination(
      { destinationId: randomUUID(), name: "GCS", type: "GoogleCloudStorage", settings: { bucket: "backups", prefix: "/gcs" }, credentialReferenceId: CREDENTIAL_ID },
      { get: (id) => (id === CREDENTIAL_ID ? credential : undefined) },
      { partSize: 5 * 1024 * 1024, ...options },
    );

  afterEach(() => vi.restoreAllMocks());

  it("addresses storage.googleapis.com path-style and signs with the HMAC key for region auto", async () => {
    const requests: { method: string; url: string; authorization: string }[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      requests.push({ method: request.method, url: request.url, authorization: request.headers.get("authorization") ?? "" });
      return new Response(null, { status: 200 });
    });
    const result = await backupDatabase({ engine: fixedEngine("data", Buffer.from("small")), database: "data", mode: "Full", startedAt: new Date("2026-03-28T02:00:00Z"), destinations: [gcs(HMAC)], compression: "gzip" });
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `PUT https://storage.googleapis.com/backups/gcs/${result.fileName}`,
      `PUT https://storage.googleapis.com/backups/gcs/${result.fileName}.sha256`,
    ]);
    for (const { authorization } of requests) expect(authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=GOOG1EXAMPLEACCESSID\/\d{8}\/auto\/s3\/aws4_request, /);
  });

  it("streams a multipart upload, downloads it and removes it, against a local S3-compatible server", async () => {
    const target = gcs(GOOD, { endpoint });
    const content = randomBytes(11 * 1024 * 1024);
    const result = await backupDatabase({ engine: fixedEngine("big", content), database: "big", mode: "Full", startedAt: new Date("2026-03-28T02:00:00Z"), destinations: [target], compression: "gzip" });
    expect((await download(`gcs/${result.fileName}`)).status).toBe(200);
    const local = join(dir, `gcs-${result.fileName}`);
    await pipeline(await target.download(result.fileName), createWriteStream(local));
    await verifyChecksum(local, result.checksum);
    await target.remove(result.fileName);
    expect((await download(`gcs/${result.fileName}`)).status).toBe(404);
  });

  it("needs an HMAC key as an S3Credential, not a service account key", () => {
    expect(() => gcs({ $type: "GoogleCloudCredential", serviceAccountJson: "{}" })).toThrow(
      'Destination "GCS" needs an S3Credential holding a Cloud Storage HMAC key (access ID and secret), not a GoogleCloudCredential.',
    );
    expect(gcs(HMAC)).toBeInstanceOf(GoogleCloudDestination);
  });
});
