// `npm run bench:restore`: a restore from the platform (`restore.run` as the agent handles it) of a
// PostgreSQL dump of about 256 MiB (`BENCH_RESTORE_MIB` to change it), encrypted and gzip-compressed
// on a LocalStorage destination, against the local PostgreSQL (127.0.0.1:5432, user postgres, trust).
// Baseline, measured in the same run: pg_restore of the same dump, already decoded, into a new database.
// The agent's path adds fetching, the checksum, decryption, decompression and the exact counts.
// Peak memory is the agent process's (pg_restore is a child process with its own, the same in both).
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backupDatabase } from "../agent/src/backup.ts";
import { createDestination } from "../agent/src/destinations/index.ts";
import { PostgresEngine } from "../agent/src/engines/postgres.ts";
import { runRestore } from "../agent/src/platform-restore.ts";

const MIB = Number(process.env.BENCH_RESTORE_MIB ?? 256);
const PG = { host: "127.0.0.1", port: 5432, username: "postgres" };
const psql = (db, sql) => execFileSync("psql", ["-h", PG.host, "-U", PG.username, "-d", db, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8" }).trim();
const suffix = randomBytes(3).toString("hex");
const source = `ds_bench_src_${suffix}`;
const baseline = `ds_bench_base_${suffix}`;
const target = `ds_bench_restored_${suffix}`;
const dir = await mkdtemp(join(tmpdir(), "ds-bench-restore-"));
const seconds = (ms) => (ms / 1000).toFixed(1);
const mib = (bytes) => (bytes / 1024 / 1024).toFixed(0);

try {
  // Rows of 256 hex characters: a dump of about MIB MiB (pg_dump -Z0), compressing about 2:1.
  const rows = Math.round((MIB * 1024 * 1024) / 270);
  psql("postgres", `CREATE DATABASE ${source}`);
  psql(source, `CREATE TABLE events (id bigint PRIMARY KEY, payload text); CREATE TABLE tags (id int, label text);
    INSERT INTO events SELECT i, md5(i::text) || md5((i * 7)::text) || md5((i * 13)::text) || md5((i * 31)::text) || md5((i * 37)::text) || md5((i * 41)::text) || md5((i * 43)::text) || md5((i * 47)::text) FROM generate_series(1, ${rows}) i;
    INSERT INTO tags SELECT i, 'tag ' || i FROM generate_series(1, 1000) i;`);
  const engine = new PostgresEngine({ type: "PostgreSql", engineKey: "pg", ...PG, format: "custom" }, { get: () => undefined });

  const plainDump = join(dir, "plain.dump");
  execFileSync("pg_dump", ["-h", PG.host, "-U", PG.username, "--format=custom", "-Z0", "--no-owner", "-f", plainDump, source]);
  const dumpBytes = (await stat(plainDump)).size;

  const spec = { destinationId: randomUUID(), name: "Disk", type: "LocalStorage", settings: { path: join(dir, "backups") }, credentialReferenceId: null };
  const destination = createDestination(spec, { get: () => undefined });
  const passphrase = "benchmark passphrase 256";
  const file = await backupDatabase({ engine, database: source, mode: "Full", startedAt: new Date(), destinations: [destination], compression: "gzip", passphrase });
  await destination.close();

  psql("postgres", `CREATE DATABASE ${baseline}`);
  const baselineStart = performance.now();
  const direct = spawnSync("pg_restore", ["-h", PG.host, "-U", PG.username, "--no-owner", "--exit-on-error", "-d", baseline, plainDump]);
  if (direct.status !== 0) throw new Error(`pg_restore failed: ${direct.stderr}`);
  const baselineMs = performance.now() - baselineStart;

  const sent = [];
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const start = performance.now();
  await runRestore(
    { engines: [engine], credentials: { get: () => undefined, hostKey: () => undefined, rememberHostKey: () => {} }, send: (f) => sent.push(f), now: () => new Date(), stagingDirectory: join(dir, "staging") },
    { type: "restore.run", restoreId: randomUUID(), files: [{ destination: spec, fileName: file.fileName, checksum: file.checksum }], engineKey: "pg", encryption: { passphrase }, target: { databaseName: target, overwrite: false } },
  );
  const restoreMs = performance.now() - start;
  clearInterval(sampler);
  const outcome = sent.at(-1);
  if (outcome.type !== "restore.completed") throw new Error(`restore failed: ${outcome.error}`);

  console.log(`Restore of a ${mib(dumpBytes)} MiB PostgreSQL dump (${mib(file.fileSize)} MiB encrypted + gzip file, ${outcome.tables} tables, ${outcome.rows} rows)`);
  console.log(`  baseline pg_restore of the decoded dump:  ${seconds(baselineMs)} s`);
  console.log(`  restore.run (fetch, checksum, decrypt, decompress, restore, count): ${seconds(restoreMs)} s = ${(restoreMs / baselineMs).toFixed(2)}x the baseline`);
  console.log(`  agent peak RSS: ${mib(peakRss)} MiB (${mib(Math.max(0, peakRss - rssBefore))} MiB above its ${mib(rssBefore)} MiB at the start)`);
} finally {
  for (const db of [source, baseline, target]) psql("postgres", `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await rm(dir, { recursive: true, force: true });
}
