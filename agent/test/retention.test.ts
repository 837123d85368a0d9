import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AgentJob } from "../../src/protocol/agent-protocol.ts";
import { LocalDestination } from "../src/destinations/local.ts";
import { expiredFiles } from "../src/retention.ts";
import { JobRunner } from "../src/runner.ts";
import { AgentStore, type StoredFile } from "../src/state.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 3, 30);
const cutoff = new Date(NOW - 7 * DAY);
const file = (fileName: string, ageDays: number, baseFileName: string | null = null, destinationId = "d1"): StoredFile => ({ destinationId, fileName, baseFileName, writtenAt: NOW - ageDays * DAY });
const names = (files: StoredFile[]) => files.map((f) => `${f.destinationId}:${f.fileName}`);

describe("chain-aware retention", () => {
  it("keeps an expired Full and Differential while a retained log builds on them", () => {
    const files = [file("full", 20), file("diff", 12, "full"), file("log1", 10, "diff"), file("log2", 3, "log1")];
    expect(expiredFiles(files, cutoff, new Set())).toEqual([]);
  });

  it("deletes logs a later Differential made unnecessary, keeps the chain the retained files need", () => {
    const files = [file("full", 20), file("log-before-diff", 15, "full"), file("diff", 12, "full"), file("log-after-diff", 2, "diff")];
    expect(names(expiredFiles(files, cutoff, new Set()))).toEqual(["d1:log-before-diff"]);
  });

  it("deletes a whole expired chain once a newer Full and its files are all that is retained", () => {
    const files = [file("full-a", 20), file("diff-a", 19, "full-a"), file("log-a", 18, "diff-a"), file("full-b", 5), file("log-b", 1, "full-b")];
    expect(names(expiredFiles(files, cutoff, new Set(["full-b", "log-b"])))).toEqual(["d1:full-a", "d1:diff-a", "d1:log-a"]);
  });

  it("keeps the files the chain builds on next, however old, and resolves bases per destination", () => {
    const files = [file("full", 30), file("log", 25, "full"), file("full", 30, null, "d2"), file("log", 2, "full", "d2")];
    expect(names(expiredFiles(files, cutoff, new Set(["log"])))).toEqual([]);
    expect(names(expiredFiles(files, cutoff, new Set()))).toEqual(["d1:full", "d1:log"]);
  });

  it("the runner removes expired files from the destination, keeps their dependencies, reports each removal once, and returns what it removed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ds-retention-"));
    const store = await AgentStore.open(join(dir, "state"));
    try {
      const folder = join(dir, "backups");
      const destinationId = randomUUID();
      const job = { backupJobId: randomUUID(), name: "retention", retentionDays: 7 } as AgentJob;
      const destination = new LocalDestination({ destinationId, name: "local", type: "LocalStorage", settings: { path: folder } });
      await import("node:fs/promises").then((fs) => fs.mkdir(folder));
      const written = [file("old-full", 20), file("old-log", 19, "old-full"), file("full", 12), file("log", 1, "full")];
      for (const entry of written) {
        await writeFile(join(folder, entry.fileName), "x");
        store.recordWrittenFile(job.backupJobId, { ...entry, destinationId }, new Date(entry.writtenAt));
      }
      const frames: ({ id: string; type: string } & Record<string, unknown>)[] = [];
      const send = (frame: (typeof frames)[number]) => {
        store.enqueue(frame);
        frames.push(frame);
      };
      const runner = new JobRunner({ store, engines: [], compression: "gzip", now: () => new Date(NOW), send, report: () => {} });
      const removed = await runner.applyRetention(job, [destination], new Date(NOW));
      expect(removed).toEqual([
        { destinationId, fileName: "old-full" },
        { destinationId, fileName: "old-log" },
      ]);
      // Exactly the files the chain-aware selection removed, one files.deleted frame each, kept in the outbox.
      expect(frames).toEqual(removed.map((gone) => ({ type: "files.deleted", id: expect.any(String), files: [gone], reason: "retention" })));
      expect(frames.every((frame) => store.isPending(frame.id))).toBe(true);
      expect(await runner.applyRetention(job, [destination], new Date(NOW))).toEqual([]);
      expect(frames).toHaveLength(2);
      expect((await readdir(folder)).sort()).toEqual(["full", "log"]);
      expect(store.writtenFiles(job.backupJobId).map((f) => f.fileName)).toEqual(["full", "log"]);
    } finally {
      store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
