import { generateKeyPairSync, randomBytes, randomUUID, verify, type KeyObject } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createWriteStream } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
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

/** The destination reads the file back with the checksum it was written with, then removes it from the bucket. */
async function fetchBackAndRemove(target: S3Destination, key: string, result: { fileName: string; checksum: string }) {
  const local = join(dir, `fetched-${randomUUID()}`);
  await pipeline(await target.download(result.fileName), createWriteStream(local));
  await verifyChecksum(local, result.checksum);
  await target.remove(result.fileName);
  expect((await download(key)).status).toBe(404);
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
    await fetchBackAndRemove(target, `nightly/${result.fileName}`, result);
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
    await fetchBackAndRemove(target, `gcs/${result.fileName}`, result);
  });

  it("with a service account: signs a JWT for a bearer token once, then streams, downloads and removes with it", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const google = await startGoogleStandIn(publicKey, endpoint);
    try {
      const serviceAccountJson = JSON.stringify({
        type: "service_account",
        client_email: "backups@acme.iam.gserviceaccount.com",
        private_key: privateKey.export({ type: "pkcs8", format: "pem" }),
        private_key_id: "key-1",
        token_uri: `${google.url}/token`,
      });
      const target = gcs({ $type: "GoogleCloudCredential", serviceAccountJson }, { endpoint: google.url });
      const content = randomBytes(11 * 1024 * 1024); // three parts: several requests share the token
      const result = await backupDatabase({ engine: fixedEngine("sa", content), database: "sa", mode: "Full", startedAt: new Date("2026-03-29T02:00:00Z"), destinations: [target], compression: "gzip" });
      expect(google.exchanges).toEqual([{ iss: "backups@acme.iam.gserviceaccount.com", aud: `${google.url}/token`, scope: "https://www.googleapis.com/auth/devstorage.read_write", lifetime: 3600, kid: "key-1" }]);
      expect(google.storageRequests).toBeGreaterThanOrEqual(6); // start, 3 parts, complete, checksum file
      expect(google.refused).toBe(0);
      await fetchBackAndRemove(target, `gcs/${result.fileName}`, result);

      // A key Google does not accept: the token endpoint's own reason, before any upload.
      google.rejectKeys = true;
      const refused = gcs({ $type: "GoogleCloudCredential", serviceAccountJson }, { endpoint: google.url });
      await expect(backupDatabase({ engine: fixedEngine("sa", "x"), database: "sa", mode: "Full", startedAt: new Date(), destinations: [refused], compression: "gzip" })).rejects.toThrow(
        'Destination "GCS": Google refused the service account backups@acme.iam.gserviceaccount.com (HTTP 400, invalid_grant: Invalid JWT Signature.).',
      );
    } finally {
      await google.stop();
    }
  });

  it("needs a service account key or an HMAC key", () => {
    expect(() => gcs({ $type: "BasicCredential", username: "u", password: "p" })).toThrow(
      'Destination "GCS" needs a GoogleCloudCredential (service account key) or an S3Credential holding a Cloud Storage HMAC key, not a BasicCredential.',
    );
    expect(() => gcs({ $type: "GoogleCloudCredential", serviceAccountJson: '{"type":"authorized_user"}' })).toThrow(
      'Destination "GCS": the GoogleCloudCredential has no client_email and private_key; paste the service account\'s key file.',
    );
    expect(gcs(HMAC)).toBeInstanceOf(GoogleCloudDestination);
  });
});

/**
 * Google's two halves as the agent sees them, on loopback: an OAuth token endpoint that checks the
 * service account's signed JWT, and Cloud Storage's XML API, played by s3rver behind a proxy that
 * admits only the bearer token it issued (and signs the forwarded request for s3rver).
 */
async function startGoogleStandIn(publicKey: KeyObject, s3rverUrl: string) {
  const TOKEN = "ya29.local-test-token";
  const forward = new AwsClient({ accessKeyId: "S3RVER", secretAccessKey: "S3RVER", region: "us-east-1", service: "s3" });
  const state = { exchanges: [] as Record<string, unknown>[], storageRequests: 0, refused: 0, rejectKeys: false };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (req.url === "/token") {
      const assertion = new URLSearchParams(body.toString()).get("assertion") ?? "";
      const [header, claims, signature] = assertion.split(".");
      const valid = !state.rejectKeys && verify("RSA-SHA256", Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature, "base64url"));
      if (!valid) return res.writeHead(400, { "Content-Type": "application/json" }).end(JSON.stringify({ error: "invalid_grant", error_description: "Invalid JWT Signature." }));
      const { iss, aud, scope, iat, exp } = JSON.parse(Buffer.from(claims, "base64url").toString());
      state.exchanges.push({ iss, aud, scope, lifetime: exp - iat, kid: JSON.parse(Buffer.from(header, "base64url").toString()).kid });
      return res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ access_token: TOKEN, expires_in: 3599, token_type: "Bearer" }));
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      state.refused++;
      return res.writeHead(401).end("<Error><Code>AuthenticationRequired</Code></Error>");
    }
    state.storageRequests++;
    const upstream = await forward.fetch(`${s3rverUrl}${req.url}`, { method: req.method, body: body.length > 0 ? body : undefined });
    res.writeHead(upstream.status, Object.fromEntries([...upstream.headers].filter(([name]) => name === "etag" || name === "content-type")));
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
