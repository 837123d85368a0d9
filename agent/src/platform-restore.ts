import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { verifyDatabaseName } from "../../src/domain/restore.ts";
import type { RestoreRunCommand, VerifyRunCommand } from "../../src/protocol/agent-protocol.ts";
import { CHAIN_EXTENSION } from "./chain/archive.ts";
import { restoreChain } from "./chain/restore-chain.ts";
import { createDestination } from "./destinations/index.ts";
import type { DestinationSpec } from "./destinations/destination.ts";
import type { Engine } from "./engines/engine.ts";
import type { DatabaseCounts, RestoreTarget } from "./engines/restore-target.ts";
import { dumpExtensionOf } from "./pipeline/file-names.ts";
import { decodeBackupFile, verifyChecksum } from "./pipeline/restore-pipeline.ts";
import type { KnownHosts } from "./state.ts";
import type { CredentialLookup } from "./types.ts";

export interface RestoreContext {
  engines: Engine[];
  credentials: CredentialLookup & KnownHosts;
  /** Reports go through the agent's outbox. */
  send(frame: { type: string; id: string } & Record<string, unknown>): void;
  now(): Date;
  stagingDirectory?: string;
  progressIntervalMs?: number;
}

type Source = Pick<RestoreRunCommand, "files" | "engineKey" | "encryption">;

function restoreTargetOf(engines: Engine[], engineKey: string): RestoreTarget {
  const engine = engines.find((e) => e.engineKey === engineKey);
  if (!engine) throw new Error(`Engine "${engineKey}" is not configured on this agent.`);
  if (!engine.restoreTarget) throw new Error(`Engine "${engineKey}" cannot restore.`);
  return engine.restoreTarget();
}

/**
 * Fetches every file of `source` into `work` and verifies each checksum before anything is applied: a
 * tampered or truncated file fails here, with the target untouched. Returns the local paths, in order.
 */
async function fetchFiles(ctx: RestoreContext, source: Source, work: string, onBytes: (total: number) => void): Promise<string[]> {
  const paths: string[] = [];
  let total = 0;
  for (const file of source.files) {
    const destination = createDestination(file.destination as DestinationSpec, ctx.credentials);
    const path = join(work, basename(file.fileName));
    try {
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          total += chunk.length;
          onBytes(total);
          callback(null, chunk);
        },
      });
      await pipeline(await destination.download(file.fileName), counter, createWriteStream(path, { mode: 0o600, flags: "wx" }));
    } finally {
      await destination.close();
    }
    await verifyChecksum(path, file.checksum);
    paths.push(path);
  }
  return paths;
}

/** Decrypts and decompresses a logical dump to a plain file: a wrong passphrase fails before the target is touched. */
async function decodeToFile(path: string, passphrase: string | null): Promise<string> {
  const plain = `${path}.plain`;
  await decodeBackupFile({ path, passphrase: passphrase ?? undefined, sink: createWriteStream(plain, { mode: 0o600, flags: "wx" }) }).catch((error: Error) => {
    if (passphrase === null && error.message.startsWith("This backup file is encrypted")) throw new Error("This backup file is encrypted and the platform sent no passphrase (its job no longer has encryption on).");
    throw error;
  });
  return plain;
}

/**
 * Restores `source` into `databaseName`: fetch and verify every file, decode, then (and only then) touch
 * the target. An existing database is refused unless `overwrite`; the counts are taken after restoring.
 */
export async function restoreInto(ctx: RestoreContext, source: Source, target: { databaseName: string; overwrite: boolean }, onBytes: (total: number) => void): Promise<DatabaseCounts> {
  const restoreTarget = restoreTargetOf(ctx.engines, source.engineKey);
  const exists = await restoreTarget.exists(target.databaseName);
  if (exists && !target.overwrite) throw new Error(`Database "${target.databaseName}" already exists; restore with overwrite: true to replace it.`);
  const base = ctx.stagingDirectory ?? tmpdir();
  await mkdir(base, { recursive: true });
  const work = await mkdtemp(join(base, "datasync-restore-"));
  try {
    const paths = await fetchFiles(ctx, source, work, onBytes);
    await applyFiles(restoreTarget, source, paths, target, exists).catch(async (error) => {
      // A database this restore created is not left half restored.
      if (!exists) await restoreTarget.drop(target.databaseName).catch(() => undefined);
      throw error;
    });
    return await restoreTarget.count(target.databaseName);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Applies the fetched, verified files: a physical chain through restore-chain.ts, else the decoded dump. */
async function applyFiles(restoreTarget: RestoreTarget, source: Source, paths: string[], target: { databaseName: string }, exists: boolean): Promise<void> {
  const last = paths.at(-1)!;
  const passphrase = source.encryption.passphrase;
  if (dumpExtensionOf(last) === CHAIN_EXTENSION) {
    if (!restoreTarget.chain) throw new Error(`Engine "${source.engineKey}" cannot restore physical backups.`);
    const checksums = new Map(source.files.map((f, i) => [paths[i]!, f.checksum]));
    await restoreChain({
      file: last,
      passphrase: passphrase ?? undefined,
      checksumOf: async (path) => checksums.get(path) ?? Promise.reject(new Error(`The chain needs ${basename(path)}, which the platform did not send.`)),
      scheme: restoreTarget.chain.scheme,
      target: { login: restoreTarget.chain.login, database: target.databaseName },
      // Only once the whole chain has decrypted and unpacked: a wrong passphrase leaves the old database.
      beforeApply: exists ? () => restoreTarget.drop(target.databaseName) : undefined,
    });
  } else {
    const plain = await decodeToFile(last, passphrase);
    if (exists) await restoreTarget.drop(target.databaseName);
    await restoreTarget.load(target.databaseName, plain, dumpExtensionOf(last));
  }
}

/** `bytesDone` reports, at most every `progressIntervalMs` (5 s by default). */
function progressReporter(ctx: RestoreContext, frame: (bytesDone: number) => { type: string } & Record<string, unknown>) {
  let last = Date.now();
  return (total: number) => {
    if (Date.now() - last < (ctx.progressIntervalMs ?? 5000)) return;
    last = Date.now();
    ctx.send({ ...frame(total), id: randomUUID() });
  };
}

const errorText = (error: unknown) => ((error as Error).message || String(error)).slice(0, 10_000);

/** `restore.run`: reports started, progress, then completed with the counts or failed with the reason. */
export async function runRestore(ctx: RestoreContext, command: RestoreRunCommand): Promise<void> {
  const { restoreId } = command;
  ctx.send({ type: "restore.started", id: randomUUID(), restoreId, startedUtc: ctx.now().toISOString() });
  try {
    const counts = await restoreInto(ctx, command, command.target, progressReporter(ctx, (bytesDone) => ({ type: "restore.progress", restoreId, bytesDone })));
    ctx.send({ type: "restore.completed", id: randomUUID(), restoreId, finishedUtc: ctx.now().toISOString(), ...counts });
  } catch (error) {
    ctx.send({ type: "restore.failed", id: randomUUID(), restoreId, finishedUtc: ctx.now().toISOString(), error: errorText(error) });
  }
}

/**
 * `verify.run`: restores into a scratch database named after the drill (it cannot clash with a customer's),
 * counts it, compares with the counts recorded at backup time, and drops the scratch database before it
 * reports, after a success or a failure: the outcome is only sent once the scratch database is gone.
 */
export async function runVerification(ctx: RestoreContext, command: VerifyRunCommand): Promise<void> {
  const { verificationId } = command;
  const scratch = verifyDatabaseName(verificationId);
  ctx.send({ type: "verify.started", id: randomUUID(), verificationId, startedUtc: ctx.now().toISOString() });
  let target: RestoreTarget | undefined;
  let outcome: { tables: number; rows: number } | { error: string };
  try {
    target = restoreTargetOf(ctx.engines, command.engineKey);
    if (await target.exists(scratch)) {
      target = undefined; // not ours: never dropped
      throw new Error(`Scratch database "${scratch}" already exists; the drill will not touch it.`);
    }
    const counts = await restoreInto(ctx, command, { databaseName: scratch, overwrite: false }, progressReporter(ctx, (bytesDone) => ({ type: "verify.progress", verificationId, bytesDone })));
    const expected = command.expected;
    if (expected && (expected.tables !== counts.tables || expected.rows !== counts.rows)) {
      throw new Error(`Counts differ from the backup: ${counts.tables} table(s) and ${counts.rows} row(s) restored, ${expected.tables} and ${expected.rows} at backup time.`);
    }
    outcome = counts;
  } catch (error) {
    outcome = { error: errorText(error) };
  }
  if (target) {
    try {
      await target.drop(scratch);
    } catch (error) {
      outcome = { error: `The scratch database "${scratch}" could not be dropped: ${errorText(error)}` };
    }
  }
  const finishedUtc = ctx.now().toISOString();
  ctx.send("error" in outcome ? { type: "verify.failed", id: randomUUID(), verificationId, finishedUtc, error: outcome.error } : { type: "verify.completed", id: randomUUID(), verificationId, finishedUtc, ...outcome });
}
