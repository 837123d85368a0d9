import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { agents, backupFiles, backupJobs, databases, engines, logMessages } from "../../../src/db/schema";
import { setClock } from "../../../src/lib/clock";
import { type DestinationType, MAX_FRAME_BYTES, PING_FRAME } from "../../../src/protocol/agent-protocol";
import { scheduled } from "../../../src/scheduled";
import { api, createSubscriber, db, queryPlan } from "../../helpers";
import { type TestAgent, connectAgent, connectRequest, subscriberWithAgent } from "../../support/agent";

afterEach(() => setClock(null));

const id = () => crypto.randomUUID();
const fileRow = (subscriberId: string, destinationId: string, fileName: string) => ({
  id: id(),
  subscriberId,
  backupJobId: id(),
  backupRunId: id(),
  databaseId: id(),
  destinationId,
  fileName,
  fileSize: 10,
  checksum: `sha256:${"ab".repeat(32)}`,
  dateCreated: new Date("2026-11-01T02:00:00Z"),
});
const log = (message: string, severity = "Information", timestamp = "2026-11-27T10:00:00Z") => ({ type: "log" as const, id: id(), severity: severity as "Information", message, timestamp });

async function inventory(agent: TestAgent, engineList: { engineKey: string; dbmsType: string; version: string; databases: string[] }[]) {
  const frame = { type: "inventory" as const, id: id(), engines: engineList.map((e) => ({ ...e, databases: e.databases.map((name) => ({ name })) })) };
  expect(await agent.request(frame)).toEqual({ type: "ack", id: frame.id });
}

describe("agent messages", () => {
  it("hello updates the agent's host facts", async () => {
    const { agentId, agentToken, token } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    const hello = { type: "hello" as const, id: id(), hostname: "db-02", displayName: "Replica", operatingSystem: "Ubuntu 24.04", version: "2.0.0" };
    expect(await agent.request(hello)).toEqual({ type: "ack", id: hello.id });
    const detail = await (await api(`/api/agent/${agentId}`, { token })).json();
    expect(detail).toMatchObject({ hostname: "db-02", displayName: "Replica", operatingSystem: "Ubuntu 24.04", version: "2.0.0", isOnline: true });
  });

  it("hello of a 1.1 agent may list the destination types it can write (shown on the agent; a 1.0 hello means Local, S3, SFTP); an unknown type is refused", async () => {
    const { agentId, agentToken, token } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    const base = { type: "hello" as const, hostname: "db-02", operatingSystem: "Debian 13", version: "0.2.0" };
    const hello = { ...base, id: id(), destinationTypes: ["LocalStorage", "AzureBlobStorage", "GoogleCloudStorage"] satisfies DestinationType[] };
    expect(await agent.request(hello)).toEqual({ type: "ack", id: hello.id });
    const shown = async () => (await (await api(`/api/agent/${agentId}`, { token })).json<{ destinationTypes: string[] }>()).destinationTypes;
    expect(await shown()).toEqual(["LocalStorage", "AzureBlobStorage", "GoogleCloudStorage"]);
    const legacy = { ...base, id: id() }; // the same agent downgraded to 1.0
    expect(await agent.request(legacy)).toEqual({ type: "ack", id: legacy.id });
    expect(await shown()).toEqual(["LocalStorage", "S3Storage", "SftpStorage"]);
    const odd = { ...base, id: id(), destinationTypes: ["FloppyDisk"] };
    agent.send(odd);
    expect(await agent.next()).toEqual({ type: "error", id: odd.id, error: expect.stringMatching(/^Invalid hello frame: destinationTypes\.0: /) });
  });

  it("files.deleted marks the subscriber's files at those locations Deleted once; a repeat, unknown files and other subscribers' files change nothing", async () => {
    const { agentToken, subscriberId, token } = await subscriberWithAgent();
    const stranger = await createSubscriber();
    const destinationId = id();
    const seeded = [
      fileRow(subscriberId, destinationId, "shop_Full_1.sql.gz"),
      fileRow(subscriberId, destinationId, "shop_Full_2.sql.gz"),
      fileRow(stranger.subscriberId, destinationId, "shop_Full_1.sql.gz"),
    ];
    await db().insert(backupFiles).values(seeded);
    const agent = await connectAgent(agentToken);
    setClock(() => Date.parse("2026-11-28T03:00:00Z"));
    const report = {
      type: "files.deleted" as const,
      id: id(),
      files: [{ destinationId, fileName: "shop_Full_1.sql.gz" }, { destinationId: id(), fileName: "unknown.sql.gz" }],
      reason: "retention" as const,
    };
    expect(await agent.request(report)).toEqual({ type: "ack", id: report.id });
    setClock(() => Date.parse("2026-11-29T03:00:00Z"));
    expect(await agent.request(report)).toEqual({ type: "ack", id: report.id }); // the same id again
    const again = { ...report, id: id() };
    expect(await agent.request(again)).toEqual({ type: "ack", id: again.id }); // the same files under a new id
    const rows = await db().select({ id: backupFiles.id, status: backupFiles.status, deletedUtc: backupFiles.deletedUtc }).from(backupFiles).where(eq(backupFiles.destinationId, destinationId));
    expect(rows.sort((a, b) => seeded.findIndex((f) => f.id === a.id) - seeded.findIndex((f) => f.id === b.id))).toEqual([
      { id: seeded[0].id, status: "Deleted", deletedUtc: new Date("2026-11-28T03:00:00Z") },
      { id: seeded[1].id, status: "Available", deletedUtc: null },
      { id: seeded[2].id, status: "Available", deletedUtc: null },
    ]);
    const logs = await (await api("/api/log", { token })).json<{ message: string }[]>();
    expect(logs.map((l) => l.message)).toContain("The agent removed 2 backup file(s) by retention: shop_Full_1.sql.gz, unknown.sql.gz.");
  });

  it("a log frame is stored once even when its id arrives again", async () => {
    const { agentId, agentToken, subscriberId } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    const frame = { ...log("Backup of AdventureWorks failed: disk full", "Error"), backupJobId: id() };
    expect(await agent.request(frame)).toEqual({ type: "ack", id: frame.id });
    expect(await agent.request(frame)).toEqual({ type: "ack", id: frame.id });
    agent.close();
    await agent.closed;
    const again = await connectAgent(agentToken); // the agent's outbox resends after a reconnect
    expect(await again.request(frame)).toEqual({ type: "ack", id: frame.id });
    const rows = await db().select().from(logMessages).where(eq(logMessages.source, "agent"));
    expect(rows.filter((r) => r.subscriberId === subscriberId)).toEqual([
      {
        id: frame.id,
        subscriberId,
        agentId,
        backupJobId: frame.backupJobId,
        source: "agent",
        severity: "Error",
        message: frame.message,
        timestamp: new Date(frame.timestamp),
      },
    ]);
  });

  it("malformed, unknown and oversized frames get an error frame and the socket stays open", async () => {
    const { agentToken } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    const badLog = { ...log("x"), severity: "Loud" };
    const cases: [string, unknown][] = [
      ["not json", { type: "error", id: null, error: "Frame is not valid JSON." }],
      ["[1,2]", { type: "error", id: null, error: "Frame must be a JSON object with a type." }],
      [JSON.stringify({ type: "teleport", id: "abc" }), { type: "error", id: "abc", error: 'Unknown frame type "teleport".' }],
      [JSON.stringify(badLog), { type: "error", id: badLog.id, error: expect.stringMatching(/^Invalid log frame: severity: /) }],
      [JSON.stringify({ type: "hello", id: "not-a-uuid", hostname: "h", operatingSystem: "o", version: "1" }), { type: "error", id: "not-a-uuid", error: expect.stringMatching(/^Invalid hello frame: id: /) }],
      [JSON.stringify(log("y".repeat(MAX_FRAME_BYTES))), { type: "error", id: null, error: "Frame larger than 1 MiB." }],
    ];
    for (const [frame, answer] of cases) {
      agent.send(frame);
      expect(await agent.next()).toEqual(answer);
    }
    agent.ws.send(new Uint8Array([1, 2, 3]));
    expect(await agent.next()).toEqual({ type: "error", id: null, error: "Frames must be JSON text." });
    agent.send(PING_FRAME);
    expect(await agent.next()).toEqual({ type: "pong" });
  });

  it("ten bad frames within a minute close the socket with 1008", async () => {
    const { agentToken } = await subscriberWithAgent();
    const start = Date.now();
    setClock(() => start);
    const agent = await connectAgent(agentToken);
    const sendBad = async (n: number) => {
      for (let i = 0; i < n; i++) agent.send("bad");
      for (let i = 0; i < n; i++) expect(await agent.next()).toMatchObject({ type: "error" });
    };
    await sendBad(9);
    setClock(() => start + 61_000); // those nine leave the window
    await sendBad(9);
    agent.send({ type: "ping" }); // still open
    expect(await agent.next()).toEqual({ type: "pong" });
    agent.send("bad");
    expect(await agent.next()).toMatchObject({ type: "error" });
    expect((await agent.closed).code).toBe(1008);
  });

  it("a backup report the platform refuses gets an error frame, not an ack", async () => {
    const { agentToken } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    const report = { type: "backup.progress" as const, id: id(), backupRunId: id(), bytesDone: 1024 };
    const answer = await agent.request(report);
    expect(answer).toMatchObject({ type: "error", id: report.id });
  });
});

describe("inventory and databases", () => {
  it("upserts engines and databases, marks a vanished database missing and clears it when it returns", async () => {
    const { agentId, agentToken, token } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    const mssql = { engineKey: "mssql:MSSQLSERVER", dbmsType: "MicrosoftSql", version: "16.0.4175.1" };
    const pg = { engineKey: "pg:5432", dbmsType: "PostgreSql", version: "17.2" };
    await inventory(agent, [
      { ...mssql, databases: ["AdventureWorks", "Sales"] },
      { ...pg, databases: ["app"] },
    ]);
    let detail = await (await api(`/api/agent/${agentId}`, { token })).json<{ engines: { engineId: string; dbmsType: string; databases: { name: string; missingSince: string | null }[] }[] }>();
    expect(detail.engines.map((e) => [e.dbmsType, e.databases.map((d) => [d.name, d.missingSince])])).toEqual([
      ["MicrosoftSql", [["AdventureWorks", null], ["Sales", null]]],
      ["PostgreSql", [["app", null]]],
    ]);
    const firstIds = detail.engines.flatMap((e) => e.databases.map((d) => (d as unknown as { databaseId: string }).databaseId));

    setClock(() => Date.parse("2026-11-27T12:00:00Z"));
    await inventory(agent, [{ ...mssql, version: "16.0.4200.0", databases: ["AdventureWorks"] }]);
    detail = await (await api(`/api/agent/${agentId}`, { token })).json();
    expect(detail).toMatchObject({
      engines: [
        { dbmsType: "MicrosoftSql", version: "16.0.4200.0", databases: [{ name: "AdventureWorks", missingSince: null }, { name: "Sales", missingSince: "2026-11-27T12:00:00Z" }] },
        { dbmsType: "PostgreSql", databases: [{ name: "app", missingSince: "2026-11-27T12:00:00Z" }] },
      ],
    });

    await inventory(agent, [{ ...mssql, databases: ["AdventureWorks", "Sales"] }, { ...pg, databases: ["app"] }]);
    const list = await (await api(`/api/database?agentId=${agentId}`, { token })).json<{ databaseId: string; missingSince: string | null }[]>();
    expect(list.map((d) => d.missingSince)).toEqual([null, null, null]);
    expect(list.map((d) => d.databaseId).sort()).toEqual(firstIds.sort()); // same rows, not new ones
  });

  it("stores each engine's capabilities and shows them on the agent; an engine without them (1.0) is Full-only without restore", async () => {
    const { agentId, agentToken, token } = await subscriberWithAgent();
    const other = await createSubscriber();
    const agent = await connectAgent(agentToken);
    const pg = { engineKey: "pg-local", dbmsType: "PostgreSql", version: "15.8", databases: [{ name: "app" }] };
    const legacy = { engineKey: "sqlite", dbmsType: "Sqlite", version: "3.46", databases: [{ name: "/data/app.db" }] };
    const frame = (capabilities: { backupModes: ("Full" | "Differential" | "TransactionLog")[]; restore: boolean }) => ({
      type: "inventory" as const,
      id: id(),
      engines: [{ ...pg, capabilities }, legacy],
    });
    const first = frame({ backupModes: ["Full", "TransactionLog"], restore: true });
    expect(await agent.request(first)).toEqual({ type: "ack", id: first.id });
    const capabilities = async () =>
      (await (await api(`/api/agent/${agentId}`, { token })).json<{ engines: { engineKey: string; capabilities: unknown }[] }>()).engines.map((e) => [e.engineKey, e.capabilities]);
    expect(await capabilities()).toEqual([
      ["pg-local", { backupModes: ["Full", "TransactionLog"], restore: true }],
      ["sqlite", { backupModes: ["Full"], restore: false }],
    ]);
    // A later inventory replaces them (the server was upgraded, or lost its WAL archive).
    const second = frame({ backupModes: ["Full", "Differential", "TransactionLog"], restore: true });
    expect(await agent.request(second)).toEqual({ type: "ack", id: second.id });
    expect((await capabilities())[0]).toEqual(["pg-local", { backupModes: ["Full", "Differential", "TransactionLog"], restore: true }]);
    const [stored] = await db().select({ backupModes: engines.backupModes, canRestore: engines.canRestore }).from(engines).where(and(eq(engines.agentId, agentId), eq(engines.engineKey, "pg-local")));
    expect(stored).toEqual({ backupModes: ["Full", "Differential", "TransactionLog"], canRestore: true });
    expect((await api(`/api/agent/${agentId}`)).status).toBe(401);
    expect((await api(`/api/agent/${agentId}`, { token: other.token })).status).toBe(404);
  });

  it("GET /api/database lists the seed's shape, filtered by agentId", async () => {
    const user = await createSubscriber({ plan: "Starter" });
    const { enroll } = await import("../../support/agent");
    const a = await enroll(user.token, { hostname: "a" });
    const b = await enroll(user.token, { hostname: "b" });
    const agentA = await connectAgent(a.agentToken);
    const agentB = await connectAgent(b.agentToken);
    await inventory(agentA, [{ engineKey: "e", dbmsType: "MySql", version: "8.4", databases: ["shop"] }]);
    await inventory(agentB, [{ engineKey: "e", dbmsType: "Sqlite", version: "3.46", databases: ["/data/app.db"] }]);

    const all = await (await api("/api/database", { token: user.token })).json<Record<string, unknown>[]>();
    expect(all).toHaveLength(2);
    const onlyA = await (await api(`/api/database?agentId=${a.agentId}`, { token: user.token })).json<Record<string, unknown>[]>();
    expect(onlyA).toEqual([
      { databaseId: expect.any(String), name: "shop", dbmsType: "MySql", engineId: expect.any(String), agentId: a.agentId, missingSince: null },
    ]);
    expect((await api("/api/database")).status).toBe(401);
  });
});

describe("DELETE /api/agent/{id}", () => {
  it("sends agent.revoked, closes with 4001, revokes the token, removes engines and databases, orphans jobs", async () => {
    const { agentId, agentToken, token, subscriberId } = await subscriberWithAgent();
    const agent = await connectAgent(agentToken);
    await inventory(agent, [{ engineKey: "pg", dbmsType: "PostgreSql", version: "17", databases: ["app"] }]);
    const now = new Date();
    const jobId = id();
    await db().insert(backupJobs).values({ id: jobId, subscriberId, agentId, name: "Nightly", isEnabled: true, schedules: [], retentionDays: 30, encryptionEnabled: false, createdAt: now, updatedAt: now });

    const res = await api(`/api/agent/${agentId}`, { method: "DELETE", token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Agent deleted." });
    expect((await agent.nextOfType("command")).command).toEqual({ type: "agent.revoked" });
    expect((await agent.closed).code).toBe(4001);

    expect((await connectRequest(agentToken)).status).toBe(401);
    expect((await api(`/api/agent/${agentId}`, { token })).status).toBe(404);
    expect(await db().$count(agents, eq(agents.id, agentId))).toBe(0);
    expect(await db().$count(engines, eq(engines.agentId, agentId))).toBe(0);
    expect(await db().$count(databases, eq(databases.agentId, agentId))).toBe(0);
    const [job] = await db().select().from(backupJobs).where(eq(backupJobs.id, jobId));
    expect(job).toMatchObject({ agentId: null, isEnabled: false });
    const logs = await (await api(`/api/log?agentId=${agentId}`, { token })).json<{ message: string }[]>();
    expect(logs[0].message).toBe('Agent "Production SQL Server" (PROD-SQL-01) deleted; its token is revoked.');
  });

  it("is 404 for an unknown id", async () => {
    const { token } = await subscriberWithAgent();
    expect((await api(`/api/agent/${id()}`, { method: "DELETE", token })).status).toBe(404);
    expect((await api("/api/agent/not-a-uuid", { token })).status).toBe(404);
  });
});

describe("GET /api/log", () => {
  async function seedLogs() {
    const user = await subscriberWithAgent();
    const agent = await connectAgent(user.agentToken);
    const frames = [
      log("one", "Information", "2026-11-20T10:00:00Z"),
      log("two", "Warning", "2026-11-21T10:00:00Z"),
      log("three", "Error", "2026-11-22T10:00:00Z"),
      log("four", "Critical", "2026-11-23T10:00:00Z"),
      log("five", "Error", "2026-11-24T10:00:00Z"),
    ];
    for (const frame of frames) expect(await agent.request(frame)).toMatchObject({ type: "ack" });
    return { ...user, frames };
  }

  it("filters by severity, from, to and agentId, newest first, in the seed's shape", async () => {
    const { token, agentId, frames } = await seedLogs();
    const res = await api("/api/log?severity=Error", { token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      { logMessageId: frames[4].id, severity: "Error", message: "five", timestamp: "2026-11-24T10:00:00Z", agentId, backupJobId: null },
      { logMessageId: frames[2].id, severity: "Error", message: "three", timestamp: "2026-11-22T10:00:00Z", agentId, backupJobId: null },
    ]);
    const window = await (await api(`/api/log?from=2026-11-21T00:00:00Z&to=2026-11-23T10:00:00Z&agentId=${agentId}`, { token })).json<{ message: string }[]>();
    expect(window.map((l) => l.message)).toEqual(["four", "three", "two"]);
  });

  it("paginates with X-Total-Count and Link headers", async () => {
    const { token } = await seedLogs();
    const first = await api("/api/log?from=2026-11-01T00:00:00Z&to=2026-11-25T00:00:00Z&pageSize=2", { token });
    expect(first.headers.get("x-total-count")).toBe("5");
    expect((await first.json<{ message: string }[]>()).map((l) => l.message)).toEqual(["five", "four"]);
    const link = first.headers.get("link")!;
    expect(link).toContain('rel="next"');
    expect(link).not.toContain('rel="prev"');
    const next = link.match(/<([^>]+)>; rel="next"/)![1];
    expect(new URL(next).searchParams.get("page")).toBe("2");
    expect(new URL(next).searchParams.get("from")).toBe("2026-11-01T00:00:00Z");
    const last = await api(`/api/log?from=2026-11-01T00:00:00Z&to=2026-11-25T00:00:00Z&pageSize=2&page=3`, { token });
    expect((await last.json<{ message: string }[]>()).map((l) => l.message)).toEqual(["one"]);
    expect(last.headers.get("link")).toContain('rel="prev"');
    expect(last.headers.get("link")).not.toContain('rel="next"');
  });

  it("refuses out-of-range paging and bad filters with 400", async () => {
    const { token } = await subscriberWithAgent();
    for (const query of ["pageSize=201", "pageSize=0", "page=0", "page=x", "severity=Debug", "from=yesterday"]) {
      const res = await api(`/api/log?${query}`, { token });
      expect(res.status, query).toBe(400);
      expect((await res.json<{ error: string }>()).error).toBeTruthy();
    }
    expect((await api("/api/log?pageSize=200", { token })).status).toBe(200);
    expect((await api("/api/log")).status).toBe(401);
  });

  it("the daily purge removes entries older than the plan's retention", async () => {
    const free = await createSubscriber({ plan: "Free" });
    const pro = await createSubscriber({ plan: "Professional" });
    const now = Date.parse("2026-11-27T03:17:00Z");
    const day = 24 * 60 * 60 * 1000;
    const entry = (subscriberId: string, ageDays: number) => ({ subscriberId, source: "platform" as const, severity: "Information" as const, message: `${ageDays} days old`, timestamp: new Date(now - ageDays * day) });
    await db().insert(logMessages).values([entry(free.subscriberId, 6), entry(free.subscriberId, 8), entry(pro.subscriberId, 8), entry(pro.subscriberId, 91)]);

    setClock(() => now);
    await scheduled(createScheduledController({ cron: "17 3 * * *", scheduledTime: now }), env);
    const left = await db().select({ subscriberId: logMessages.subscriberId, message: logMessages.message }).from(logMessages);
    expect(left.filter((l) => l.subscriberId === free.subscriberId).map((l) => l.message)).toEqual(["6 days old"]);
    expect(left.filter((l) => l.subscriberId === pro.subscriberId).map((l) => l.message)).toEqual(["8 days old"]);
  });
});

describe("log query cost", () => {
  it("every filter combination reads a subscriber-first index, without a sort or a table scan", async () => {
    const { logPageQueries } = await import("../../../src/services/log");
    const ctx = { db: db(), subscriberId: id() };
    const combos = [
      {},
      { severity: "Error" as const },
      { agentId: id() },
      { from: new Date("2026-11-01T00:00:00Z"), to: new Date("2026-11-02T00:00:00Z") },
      { severity: "Warning" as const, agentId: id(), from: new Date("2026-11-01T00:00:00Z") },
    ];
    for (const filters of combos) {
      const { rows, total } = logPageQueries(ctx, filters, { page: 3, pageSize: 50 });
      for (const query of [rows, total]) {
        const plan = await queryPlan(query);
        expect(plan, query.toSQL().sql).toMatch(/USING (COVERING )?INDEX log_messages_subscriber_/);
        expect(plan, query.toSQL().sql).not.toContain("TEMP B-TREE");
      }
    }
  });
});

describe("API documentation", () => {
  it("documents the agent, database and log endpoints", async () => {
    const doc = await (await api("/api/openapi.json")).json<{ paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> }>();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/agent",
        "/api/agent/{id}",
        "/api/agent/{id}/inventory-request",
        "/api/agent/registration-token",
        "/api/agent/register",
        "/api/agent/connect",
        "/api/database",
        "/api/log",
      ]),
    );
    // Its query filters (the x-d1-bookmark header parameter is a shared $ref, see test/routes/docs).
    const query = doc.paths["/api/log"].get.parameters!.filter((p) => p.in === "query");
    expect(query.map((p) => p.name).sort()).toEqual(["agentId", "from", "page", "pageSize", "severity", "to"]);
  });
});
