import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackupPipeline } from "../src/pipeline/backup-pipeline.ts";
import { createDecryptStream, createEncryptStream, DecryptionError, type ScryptParameters } from "../src/pipeline/encryption.ts";
import { backupFileName, dumpExtensionOf, sanitizeNamePart } from "../src/pipeline/file-names.ts";
import { ChecksumMismatchError, decodeBackupFile, fileChecksum, verifyChecksum } from "../src/pipeline/restore-pipeline.ts";
import { createHash } from "node:crypto";
import { zstdAvailable } from "../src/pipeline/compression.ts";

// Cheap key derivation keeps the suite fast; the format records the parameters, so decryption follows them.
const FAST: ScryptParameters = { log2N: 10, r: 8, p: 1 };
const PASSPHRASE = "correct horse battery staple";

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part as Buffer));
  return Buffer.concat(parts);
}

async function encrypt(plain: Buffer, chunkSize = 1024): Promise<Buffer> {
  return collect(Readable.from([plain]).pipe(createEncryptStream(PASSPHRASE, { scrypt: FAST, chunkSize })));
}

async function decrypt(sealed: Buffer, passphrase = PASSPHRASE): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(Readable.from([sealed]), createDecryptStream(passphrase), new Writable({ write(chunk, _e, cb) { parts.push(chunk); cb(); } }));
  return Buffer.concat(parts);
}

function memorySink(): { sink: Writable; data: () => Buffer } {
  const parts: Buffer[] = [];
  return { sink: new Writable({ write(chunk, _e, cb) { parts.push(chunk); cb(); } }), data: () => Buffer.concat(parts) };
}

describe("chunked AES-256-GCM", () => {
  it.each([0, 1, 1023, 1024, 1025, 4096, 10_000])("round-trips %i bytes", async (length) => {
    const plain = randomBytes(length);
    const sealed = await encrypt(plain);
    expect(sealed.subarray(0, 8).toString()).toBe("DSYNCENC");
    expect(sealed.includes(plain.subarray(0, 32)) && length >= 32).toBe(false);
    expect(await decrypt(sealed)).toEqual(plain);
  });

  it("uses the default 64 KiB chunks and strong scrypt parameters when none are given", async () => {
    const plain = randomBytes(200_000);
    const sealed = await collect(Readable.from([plain]).pipe(createEncryptStream(PASSPHRASE)));
    expect(sealed.readUInt8(9)).toBe(15); // log2 N
    expect(sealed.readUInt32BE(40)).toBe(64 * 1024);
    // header + 3 full chunks + final chunk, each with a 16-byte tag
    expect(sealed.length).toBe(60 + plain.length + 4 * 16);
    expect(await decrypt(sealed)).toEqual(plain);
  });

  it("refuses a wrong passphrase with a clear message", async () => {
    const sealed = await encrypt(randomBytes(3000));
    await expect(decrypt(sealed, "not the passphrase")).rejects.toThrow("Wrong passphrase for this backup file.");
  });

  it("detects a flipped bit in the ciphertext", async () => {
    const sealed = await encrypt(randomBytes(3000));
    sealed[60 + 1500] ^= 0x01;
    await expect(decrypt(sealed)).rejects.toThrow(/damaged or was tampered with \(chunk 2/);
  });

  it("detects a changed header parameter", async () => {
    const sealed = await encrypt(randomBytes(3000));
    sealed[30] ^= 0x01; // nonce base: authenticated as additional data of every chunk
    await expect(decrypt(sealed)).rejects.toBeInstanceOf(DecryptionError);
  });

  it("detects truncation at a chunk boundary", async () => {
    const sealed = await encrypt(randomBytes(3000));
    const cut = sealed.subarray(0, 60 + 2 * (1024 + 16));
    await expect(decrypt(cut)).rejects.toThrow("The backup file is truncated: its last part is missing.");
  });

  it("detects truncation inside a chunk, of the header, and appended data", async () => {
    const sealed = await encrypt(randomBytes(3000));
    await expect(decrypt(sealed.subarray(0, sealed.length - 5))).rejects.toBeInstanceOf(DecryptionError);
    await expect(decrypt(sealed.subarray(0, 40))).rejects.toThrow("header is incomplete");
    await expect(decrypt(Buffer.concat([sealed, randomBytes(1040)]))).rejects.toBeInstanceOf(DecryptionError);
  });

  it("swapping two chunks fails", async () => {
    const sealed = await encrypt(randomBytes(3000));
    const a = Buffer.from(sealed.subarray(60, 60 + 1040));
    const b = Buffer.from(sealed.subarray(60 + 1040, 60 + 2080));
    b.copy(sealed, 60);
    a.copy(sealed, 60 + 1040);
    await expect(decrypt(sealed)).rejects.toThrow(/chunk 1 failed authentication/);
  });

  it("refuses a file that is not in the format", async () => {
    await expect(decrypt(Buffer.from("plain text that is long enough to hold a header, really it is long"))).rejects.toThrow(
      "Not a DataSync encrypted backup file.",
    );
  });
});

describe("backup pipeline", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ds-pipeline-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function* generated(totalBytes: number) {
    // Compressible but not trivial text, produced lazily as a dump would be.
    let produced = 0;
    let line = 0;
    while (produced < totalBytes) {
      const chunk = Buffer.from(`INSERT INTO t VALUES (${line++}, '${createHash("md5").update(String(line)).digest("hex")}');\n`.repeat(50));
      produced += chunk.length;
      yield chunk;
    }
  }

  it.each([
    ["without encryption", undefined],
    ["with encryption", PASSPHRASE],
  ])("streams to every target with one checksum, %s, and restores", async (_label, passphrase) => {
    const name = passphrase ? "dump.sql.gz.enc" : "dump.sql.gz";
    const original = await collect(Readable.from(generated(2_000_000)));
    const a = memorySink();
    const b = new PassThrough();
    const bCollected = collect(b);
    const digest = await runBackupPipeline({
      source: Readable.from(generated(2_000_000)),
      compression: "gzip",
      passphrase,
      encryptOptions: { scrypt: FAST },
      targets: [a.sink, b],
    });
    const stored = a.data();
    expect(await bCollected).toEqual(stored);
    expect(digest.size).toBe(stored.length);
    expect(stored.length).toBeLessThan(original.length / 2);
    expect(digest.checksum).toBe(`sha256:${createHash("sha256").update(stored).digest("hex")}`);

    const path = join(dir, name);
    await writeFile(path, stored);
    expect(await fileChecksum(path)).toBe(digest.checksum);
    await verifyChecksum(path, digest.checksum);
    const restored = memorySink();
    await decodeBackupFile({ path, passphrase, sink: restored.sink });
    expect(restored.data().equals(original)).toBe(true);
  });

  it("streams: a 256 MiB dump goes through in a fraction of its size in memory", async () => {
    const total = 256 * 1024 * 1024;
    const block = randomBytes(64 * 1024);
    let produced = 0;
    // Each chunk is fresh memory (as from a dump tool's pipe), half random so compression has real work.
    const source = new Readable({
      read() {
        if (produced >= total) return this.push(null);
        const chunk = Buffer.allocUnsafe(128 * 1024);
        block.copy(chunk, 0);
        chunk.fill(produced & 0xff, block.length);
        produced += chunk.length;
        this.push(chunk);
      },
    });
    const hash = createHash("sha256");
    let written = 0;
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        hash.update(chunk);
        written += chunk.length;
        cb();
      },
    });
    const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const before = used();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, used())), 5);
    const digest = await runBackupPipeline({ source, compression: "gzip", passphrase: PASSPHRASE, encryptOptions: { scrypt: FAST }, targets: [sink] });
    clearInterval(sampler);
    expect(produced).toBe(total);
    expect(digest.size).toBe(written);
    expect(digest.checksum).toBe(`sha256:${hash.digest("hex")}`);
    // Holding the dump would need ≥ 256 MiB; streaming needs a few chunk buffers (about 30 MiB seen here).
    expect(peak - before).toBeLessThan(total / 2);
  });

  it("fails the pipeline when one target fails", async () => {
    const broken = new Writable({ write(_chunk, _e, cb) { cb(new Error("disk full")); } });
    await expect(
      runBackupPipeline({ source: Readable.from(generated(100_000)), compression: "gzip", targets: [memorySink().sink, broken] }),
    ).rejects.toThrow("disk full");
  });

  it("fails the pipeline when the dump source fails", async () => {
    const failing = new Readable({ read() { this.destroy(new Error("pg_dump: connection refused")); } });
    await expect(runBackupPipeline({ source: failing, compression: "gzip", targets: [memorySink().sink] })).rejects.toThrow("connection refused");
  });

  it.skipIf(!zstdAvailable())("compresses with zstd when asked and restores by extension", async () => {
    const original = await collect(Readable.from(generated(300_000)));
    const out = memorySink();
    await runBackupPipeline({ source: Readable.from([original]), compression: "zstd", targets: [out.sink] });
    expect(out.data().readUInt32LE(0)).toBe(0xfd2fb528);
    const path = join(dir, "x.sql.zst");
    await writeFile(path, out.data());
    const restored = memorySink();
    await decodeBackupFile({ path, sink: restored.sink });
    expect(restored.data().equals(original)).toBe(true);
  });

  it("refuses a tampered file before restoring anything and asks for a missing passphrase", async () => {
    const out = memorySink();
    const digest = await runBackupPipeline({ source: Readable.from(generated(50_000)), compression: "gzip", passphrase: PASSPHRASE, encryptOptions: { scrypt: FAST }, targets: [out.sink] });
    const path = join(dir, "t.sql.gz.enc");
    const bytes = out.data();
    bytes[bytes.length - 20] ^= 0xff;
    await writeFile(path, bytes);
    await expect(verifyChecksum(path, digest.checksum)).rejects.toBeInstanceOf(ChecksumMismatchError);
    await expect(decodeBackupFile({ path, sink: memorySink().sink })).rejects.toThrow("encrypted: give its passphrase");
    await expect(decodeBackupFile({ path, passphrase: PASSPHRASE, sink: memorySink().sink })).rejects.toBeInstanceOf(DecryptionError);
    expect((await readFile(path)).length).toBe(bytes.length);
  });
});

describe("file names", () => {
  it("carry database, mode and UTC time", () => {
    const startedAt = new Date("2026-03-26T02:00:00Z");
    expect(backupFileName({ database: "AdventureWorks", mode: "Full", startedAt, dumpExtension: "sql", compressionExtension: "gz", encrypted: true })).toBe(
      "AdventureWorks_Full_20260326_020000.sql.gz.enc",
    );
    expect(backupFileName({ database: "my db/../x", mode: "Full", startedAt, dumpExtension: "dump", compressionExtension: "zst", encrypted: false })).toBe(
      "my-db-..-x_Full_20260326_020000.dump.zst",
    );
    expect(sanitizeNamePart("../../etc/passwd")).toBe("etc-passwd");
    expect(sanitizeNamePart("***")).toBe("database");
    expect(dumpExtensionOf("/x/app_Full_20260326_020000.dump.gz.enc")).toBe("dump");
    expect(dumpExtensionOf("app.v2_Full_20260326_020000.sqlite.zst")).toBe("sqlite");
  });
});
