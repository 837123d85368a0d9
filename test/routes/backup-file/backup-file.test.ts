import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { backupFiles } from "../../../src/db/schema";
import { fileListQueries } from "../../../src/services/backup-file";
import { runListQueries } from "../../../src/services/backup-run";
import { api, createSubscriber, db } from "../../helpers";

const CHECKSUM = `sha256:${"cd".repeat(32)}`;
const DAY = 24 * 60 * 60 * 1000;
const START = Date.parse("2026-11-01T02:00:00Z");
const AVAILABLE_FULL = { backupMode: "Full", baseBackupFileId: null, status: "Available", deletedUtc: null };

/** `count` files (one per day from Nov 1st, `offsetMs` later) for a job of the subscriber, written straight to D1. */
async function seedFiles(subscriberId: string, backupJobId: string, count: number, offsetMs = 0) {
  const rows = Array.from({ length: count }, (_, i) => ({
    id: crypto.randomUUID(),
    subscriberId,
    backupJobId,
    backupRunId: crypto.randomUUID(),
    databaseId: crypto.randomUUID(),
    destinationId: crypto.randomUUID(),
    fileName: `Sales_Full_${i}.bak`,
    fileSize: 1000 + i,
    checksum: CHECKSUM,
    dateCreated: new Date(START + i * DAY + offsetMs),
  }));
  for (let i = 0; i < rows.length; i += 9) await db().insert(backupFiles).values(rows.slice(i, i + 9));
  return rows;
}

describe("backup files", () => {
  it("lists files newest first in the seed shape, paginated with X-Total-Count and Link", async () => {
    const { token, subscriberId } = await createSubscriber();
    const jobId = crypto.randomUUID();
    const rows = await seedFiles(subscriberId, jobId, 5);
    const res = await api("/api/backupfile?pageSize=2", { token });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-total-count")).toBe("5");
    expect(res.headers.get("link")).toBe('<http://localhost/api/backupfile?pageSize=2&page=2>; rel="next"');
    expect(await res.json()).toEqual([
      { backupFileId: rows[4].id, backupJobId: jobId, fileName: "Sales_Full_4.bak", fileSize: 1004, checksum: CHECKSUM, dateCreated: "2026-11-05T02:00:00Z", ...AVAILABLE_FULL },
      { backupFileId: rows[3].id, backupJobId: jobId, fileName: "Sales_Full_3.bak", fileSize: 1003, checksum: CHECKSUM, dateCreated: "2026-11-04T02:00:00Z", ...AVAILABLE_FULL },
    ]);
    const last = await api("/api/backupfile?pageSize=2&page=3", { token });
    expect((await last.json<{ fileName: string }[]>()).map((f) => f.fileName)).toEqual(["Sales_Full_0.bak"]);
    expect(last.headers.get("link")).toContain('page=2>; rel="prev"');
  });

  it("filters by backupJobId, from and to (inclusive)", async () => {
    const { token, subscriberId } = await createSubscriber();
    const jobA = crypto.randomUUID();
    const jobB = crypto.randomUUID();
    await seedFiles(subscriberId, jobA, 4);
    await seedFiles(subscriberId, jobB, 2, 60 * 60 * 1000);
    const names = async (query: string) => {
      const res = await api(`/api/backupfile?${query}`, { token });
      expect(res.status, query).toBe(200);
      return { total: res.headers.get("x-total-count"), files: (await res.json<{ fileName: string; backupJobId: string }[]>()).map((f) => `${f.backupJobId === jobA ? "A" : "B"}${f.fileName.at(-5)}`) };
    };
    expect(await names(`backupJobId=${jobB}`)).toEqual({ total: "2", files: ["B1", "B0"] });
    expect(await names("from=2026-11-02T02:00:00Z")).toEqual({ total: "4", files: ["A3", "A2", "B1", "A1"] });
    expect(await names(`backupJobId=${jobA}&from=2026-11-02T00:00:00Z&to=2026-11-03T02:00:00Z`)).toEqual({ total: "2", files: ["A2", "A1"] });
    expect(await names("to=2026-10-01T00:00:00Z")).toEqual({ total: "0", files: [] });
    for (const bad of ["from=yesterday", "to=2026-13-01", "pageSize=500", "page=-1", "status=Gone", "status=available"]) {
      const res = await api(`/api/backupfile?${bad}`, { token });
      expect(res.status, bad).toBe(400);
      expect((await res.json<{ error: string }>()).error).toBeTruthy();
    }
  });

  it("lists Available files by default, Deleted ones with status=Deleted, both with status=all", async () => {
    const { token, subscriberId } = await createSubscriber();
    const jobId = crypto.randomUUID();
    const rows = await seedFiles(subscriberId, jobId, 3);
    await db()
      .update(backupFiles)
      .set({ status: "Deleted", deletedUtc: new Date("2026-11-20T00:00:00Z") })
      .where(eq(backupFiles.id, rows[0].id));
    const names = async (query: string) => {
      const res = await api(`/api/backupfile${query}`, { token });
      expect(res.status, query).toBe(200);
      return { total: res.headers.get("x-total-count"), files: (await res.json<{ fileName: string; status: string; deletedUtc: string | null }[]>()).map((f) => [f.fileName, f.status, f.deletedUtc]) };
    };
    const available = [["Sales_Full_2.bak", "Available", null], ["Sales_Full_1.bak", "Available", null]];
    const deleted = [["Sales_Full_0.bak", "Deleted", "2026-11-20T00:00:00Z"]];
    expect(await names("")).toEqual({ total: "2", files: available });
    expect(await names("?status=Available")).toEqual({ total: "2", files: available });
    expect(await names("?status=Deleted")).toEqual({ total: "1", files: deleted });
    expect(await names(`?status=all&backupJobId=${jobId}`)).toEqual({ total: "3", files: [...available, ...deleted] });
    // The status filter survives into the pagination links.
    const page = await api("/api/backupfile?status=all&pageSize=1", { token });
    expect(page.headers.get("link")).toContain("status=all");
  });

  it("returns one file, 404 for another subscriber's, and needs a token", async () => {
    const owner = await createSubscriber();
    const other = await createSubscriber();
    const [file] = await seedFiles(owner.subscriberId, crypto.randomUUID(), 1);
    const res = await api(`/api/backupfile/${file.id}`, { token: owner.token });
    expect(await res.json()).toEqual({
      backupFileId: file.id,
      backupJobId: file.backupJobId,
      backupRunId: file.backupRunId,
      databaseId: file.databaseId,
      destinationId: file.destinationId,
      fileName: file.fileName,
      fileSize: file.fileSize,
      checksum: CHECKSUM,
      dateCreated: "2026-11-01T02:00:00Z",
      ...AVAILABLE_FULL,
    });
    const foreign = await api(`/api/backupfile/${file.id}`, { token: other.token });
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toMatchObject({ error: "Backup file not found." });
    expect(await (await api("/api/backupfile", { token: other.token })).json()).toEqual([]);
    expect((await api("/api/backupfile")).status).toBe(401);
    expect((await api(`/api/backupfile/${file.id}`)).status).toBe(401);
  });

  it("serves every list page and count from an index, without sorting the subscriber's rows", async () => {
    // The cost of a first page must not grow with the number of rows: no full scan, no temp b-tree sort.
    const ctx = { db: db(), subscriberId: crypto.randomUUID(), now: new Date() };
    const page = { page: 1, pageSize: 50 };
    const day = new Date(START);
    const queries = [
      fileListQueries(ctx, {}, page),
      fileListQueries(ctx, { backupJobId: "job" }, page),
      fileListQueries(ctx, { from: day, to: new Date(START + DAY) }, page),
      fileListQueries(ctx, { backupJobId: "job", from: day }, page),
      fileListQueries(ctx, { status: "Deleted" }, page),
      fileListQueries(ctx, { status: "all" }, page),
      fileListQueries(ctx, { status: "all", backupJobId: "job", to: day }, page),
      fileListQueries(ctx, { status: "Deleted", backupJobId: "job", from: day }, page),
      runListQueries(ctx, "job", page),
    ];
    for (const { rows, total } of queries) {
      for (const query of [rows, total]) {
        const { sql, params } = query.toSQL();
        const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind(...params)
          .all<{ detail: string }>();
        const details = plan.results.map((r) => r.detail).join(" | ");
        expect(details, sql).toMatch(/USING (COVERING )?INDEX (backup_files|backup_runs)_subscriber_/);
        expect(details, sql).not.toContain("TEMP B-TREE");
        expect(details, sql).not.toMatch(/SCAN (backup_files|backup_runs)(?! USING)/);
      }
    }
  });
});

describe("API documentation", () => {
  it("documents every backup endpoint in the OpenAPI document", async () => {
    const doc = await (await api("/api/openapi.json")).json<{ paths: Record<string, Record<string, { parameters?: { name: string }[] }>> }>();
    for (const path of [
      "/api/credential",
      "/api/credential/{id}",
      "/api/destination",
      "/api/destination/{id}",
      "/api/backupjob",
      "/api/backupjob/{id}",
      "/api/backupjob/{id}/run",
      "/api/backupjob/{id}/history",
      "/api/backupfile",
      "/api/backupfile/{id}",
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    const fileQuery = doc.paths["/api/backupfile"].get.parameters?.map((p) => p.name);
    expect(fileQuery).toEqual(expect.arrayContaining(["page", "pageSize", "status", "backupJobId", "from", "to"]));
  });
});
