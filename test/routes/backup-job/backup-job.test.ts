import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { type BackupMode, backupJobs, backupRuns, engines } from "../../../src/db/schema";
import { setClock } from "../../../src/lib/clock";
import { api, createSubscriber, db } from "../../helpers";
import { AgentSocket, createAgent, createDestination, createJob } from "../../support/backup";

const PASSPHRASE = "correct horse battery";

async function setup(plan: "Free" | "Ultimate" = "Free", backupModes?: BackupMode[]) {
  const user = await createSubscriber({ plan });
  const agent = await createAgent(user.subscriberId, { backupModes });
  const destinationId = await createDestination(user.token);
  return { ...user, agent, destinationId };
}

afterEach(() => setClock(null));

describe("backup jobs", () => {
  it("creates a job (seed shapes), hides the passphrase, and syncs the whole job to the agent", async () => {
    const { token, agent, destinationId } = await setup();
    const socket = await AgentSocket.connect(agent.agentToken);
    const res = await api("/api/backupjob", {
      token,
      json: {
        name: "Nightly Full Backup",
        agentId: agent.agentId,
        databaseIds: agent.databaseIds,
        destinationIds: [destinationId],
        schedules: [{ backupMode: "Full", cronExpression: "0 2 * * *" }],
        retentionDays: 30,
        encryption: { enabled: true, passphrase: PASSPHRASE },
      },
    });
    expect(res.status).toBe(200);
    const created = await res.json<{ backupJobId: string }>();
    expect(created).toEqual({ backupJobId: expect.any(String), name: "Nightly Full Backup", isEnabled: true });
    const id = created.backupJobId;

    const detail = await api(`/api/backupjob/${id}`, { token });
    const detailText = await detail.text();
    expect(detailText).not.toContain(PASSPHRASE);
    expect(JSON.parse(detailText)).toEqual({
      backupJobId: id,
      name: "Nightly Full Backup",
      isEnabled: true,
      agentId: agent.agentId,
      databases: [
        { databaseId: agent.databaseIds[1], name: "Inventory", dbmsType: "MicrosoftSql" },
        { databaseId: agent.databaseIds[0], name: "Sales", dbmsType: "MicrosoftSql" },
      ],
      destinations: [{ destinationId, name: "Local disk", type: "LocalStorage" }],
      schedules: [{ backupMode: "Full", cronExpression: "0 2 * * *" }],
      retentionDays: 30,
      encryption: { enabled: true, algorithm: "AES-256" },
      verification: null,
    });

    const list = await api("/api/backupjob", { token });
    expect(list.headers.get("x-total-count")).toBe("1");
    expect(await list.json()).toEqual([
      {
        backupJobId: id,
        name: "Nightly Full Backup",
        isEnabled: true,
        agentId: agent.agentId,
        schedules: [{ backupMode: "Full", cronExpression: "0 2 * * *" }],
        lastStatus: null,
        lastRunUtc: null,
      },
    ]);

    const [stored] = await db().select().from(backupJobs).where(eq(backupJobs.id, id));
    expect(stored.sealedPassphrase).toMatch(/^v2\./);
    expect(stored.sealedPassphrase).not.toContain(PASSPHRASE);

    const { job } = await socket.command("job.upsert");
    expect(job).toMatchObject({
      backupJobId: id,
      name: "Nightly Full Backup",
      isEnabled: true,
      retentionDays: 30,
      schedules: [{ backupMode: "Full", cronExpression: "0 2 * * *" }],
      destinations: [{ destinationId, name: "Local disk", type: "LocalStorage", settings: { path: "/var/backups" }, credentialReferenceId: null }],
      encryption: { enabled: true, algorithm: "AES-256", passphrase: PASSPHRASE },
    });
    expect(job.databases).toContainEqual({ databaseId: agent.databaseIds[0], name: "Sales", dbmsType: "MicrosoftSql", engineKey: "mssql-default" });
    socket.close();
  });

  it("applies defaults: no schedules (manual only), 30 days, no encryption", async () => {
    const { token, agent, destinationId } = await setup();
    const res = await api("/api/backupjob", { token, json: { name: "Manual", agentId: agent.agentId, databaseIds: [agent.databaseIds[0]], destinationIds: [destinationId] } });
    expect(res.status).toBe(200);
    const { backupJobId } = await res.json<{ backupJobId: string }>();
    expect(await (await api(`/api/backupjob/${backupJobId}`, { token })).json()).toMatchObject({
      schedules: [],
      retentionDays: 30,
      encryption: { enabled: false, algorithm: null },
    });
  });

  it("refuses every invalid field with a 400 naming it, and stores nothing", async () => {
    const { token, subscriberId, agent, destinationId } = await setup("Ultimate");
    const otherAgent = await createAgent(subscriberId, { databases: ["Elsewhere"] });
    const stranger = await setup();
    const credential = await api("/api/credential", {
      token,
      json: { name: "Other agent's", agentId: otherAgent.agentId, credential: { $type: "BasicCredential", username: "u", password: "p" } },
    });
    const { credentialReferenceId } = await credential.json<{ credentialReferenceId: string }>();
    const otherAgentsDestination = await createDestination(token, { name: "Via the other agent", credentialReferenceId });
    const valid = { name: "Job", agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] };
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "" }, "name"],
      [{ name: "x".repeat(201) }, "name"],
      [{ agentId: crypto.randomUUID() }, "agentId"],
      [{ agentId: stranger.agent.agentId }, "agentId"],
      [{ databaseIds: [] }, "databaseIds"],
      [{ databaseIds: [otherAgent.databaseIds[0]] }, "databaseIds.0"],
      [{ databaseIds: [agent.databaseIds[0], stranger.agent.databaseIds[0]] }, "databaseIds.1"],
      [{ destinationIds: [] }, "destinationIds"],
      [{ destinationIds: [stranger.destinationId] }, "destinationIds.0"],
      [{ destinationIds: [destinationId, otherAgentsDestination] }, "destinationIds.1"],
      [{ schedules: [{ backupMode: "Full", cronExpression: "0 0 2 * * *" }] }, "schedules.0.cronExpression"],
      [{ schedules: [{ backupMode: "Full", cronExpression: "61 2 * * *" }] }, "schedules.0.cronExpression"],
      [{ schedules: [{ backupMode: "Full", cronExpression: "@daily" }] }, "schedules.0.cronExpression"],
      [{ schedules: [{ backupMode: "Full", cronExpression: "0 2 31 2 *" }] }, "schedules.0.cronExpression"],
      [{ schedules: [{ backupMode: "Incremental", cronExpression: "0 2 * * *" }] }, "schedules.0.backupMode"],
      [{ retentionDays: 0 }, "retentionDays"],
      [{ retentionDays: 3651 }, "retentionDays"],
      [{ retentionDays: 1.5 }, "retentionDays"],
      [{ encryption: { enabled: true } }, "encryption.passphrase"],
      [{ encryption: { enabled: true, passphrase: "short" } }, "encryption.passphrase"],
    ];
    for (const [change, path] of cases) {
      const res = await api("/api/backupjob", { token, json: { ...valid, ...change } });
      expect(res.status, JSON.stringify(change)).toBe(400);
      const body = await res.json<{ error: string; details?: { path: string }[] }>();
      expect(body.error, JSON.stringify(change)).toBeTruthy();
      expect(body.details?.[0].path, JSON.stringify(change)).toBe(path);
    }
    const noBody = await api("/api/backupjob", { token, method: "POST" });
    expect(noBody.status).toBe(400);
    expect(await db().select().from(backupJobs).where(eq(backupJobs.subscriberId, subscriberId))).toEqual([]);
  });

  it("enforces the plan's job limit with a 403", async () => {
    const { token, agent, destinationId } = await setup("Free");
    const body = { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] };
    for (let i = 0; i < 3; i++) await createJob(token, { ...body, name: `Job ${i}` });
    const res = await api("/api/backupjob", { token, json: { ...body, name: "One too many" } });
    expect(res.status).toBe(403);
    expect((await res.json<{ error: string }>()).error).toContain("at most 3 backup jobs");
  });

  it("updates only the fields sent and re-syncs, including enable/disable", async () => {
    const { token, subscriberId, agent, destinationId } = await setup("Free", ["Full", "Differential"]);
    const id = await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId], encryption: { enabled: true, passphrase: PASSPHRASE } });
    const socket = await AgentSocket.connect(agent.agentToken);
    await socket.command("job.upsert");

    const res = await api(`/api/backupjob/${id}`, {
      token,
      method: "PUT",
      json: {
        name: "Updated Job Name",
        schedules: [
          { backupMode: "Full", cronExpression: "0 3 * * *" },
          { backupMode: "Differential", cronExpression: "0 */6 * * *" },
        ],
        retentionDays: 60,
      },
    });
    expect(res.status).toBe(200);
    const updated = await res.json<Record<string, unknown>>();
    expect(updated).toMatchObject({
      backupJobId: id,
      name: "Updated Job Name",
      isEnabled: true,
      retentionDays: 60,
      schedules: [
        { backupMode: "Full", cronExpression: "0 3 * * *" },
        { backupMode: "Differential", cronExpression: "0 */6 * * *" },
        ],
      encryption: { enabled: true, algorithm: "AES-256" },
    });
    expect((updated.databases as unknown[]).length).toBe(2);
    const first = await socket.command("job.upsert");
    expect(first.job).toMatchObject({ name: "Updated Job Name", retentionDays: 60, encryption: { passphrase: PASSPHRASE } });

    const disabled = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { isEnabled: false, databaseIds: [agent.databaseIds[0]] } });
    expect(await disabled.json()).toMatchObject({ isEnabled: false, name: "Updated Job Name", databases: [{ databaseId: agent.databaseIds[0] }] });
    const second = await socket.command("job.upsert");
    expect(second.job.isEnabled).toBe(false);
    expect(second.job.databases.map((d) => d.databaseId)).toEqual([agent.databaseIds[0]]);

    const enabled = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { isEnabled: true } });
    expect(await enabled.json()).toMatchObject({ isEnabled: true });
    expect((await socket.command("job.upsert")).job.isEnabled).toBe(true);

    const before = await db().select().from(backupJobs).where(eq(backupJobs.id, id));
    const bad = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { name: "Nope", retentionDays: 0 } });
    expect(bad.status).toBe(400);
    const otherAgent = await createAgent(subscriberId, { databases: ["Other"] });
    const wrongAgent = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { agentId: otherAgent.agentId } });
    expect(wrongAgent.status).toBe(400);
    expect((await wrongAgent.json<{ details: { path: string }[] }>()).details[0].path).toBe("databaseIds.0");
    expect(await db().select().from(backupJobs).where(eq(backupJobs.id, id))).toEqual(before);

    const decrypt = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { encryption: { enabled: false } } });
    expect(await decrypt.json()).toMatchObject({ encryption: { enabled: false, algorithm: null } });
    const reEnable = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { encryption: { enabled: true } } });
    expect(reEnable.status).toBe(400);
    socket.close();
  });

  it("moves a job to another agent: the old one drops it, the new one gets it", async () => {
    const { token, subscriberId, agent, destinationId } = await setup("Ultimate");
    const id = await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });
    const target = await createAgent(subscriberId, { databases: ["Target"] });
    const res = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { agentId: target.agentId, databaseIds: target.databaseIds } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ agentId: target.agentId, databases: [{ databaseId: target.databaseIds[0], name: "Target" }] });

    const oldSocket = await AgentSocket.connect(agent.agentToken);
    await oldSocket.command("job.upsert");
    expect(await oldSocket.command("job.delete")).toEqual({ type: "job.delete", backupJobId: id });
    const newSocket = await AgentSocket.connect(target.agentToken);
    expect((await newSocket.command("job.upsert")).job.backupJobId).toBe(id);
    oldSocket.close();
    newSocket.close();
  });

  it("deletes a job: the agent drops it, runs stay in the history", async () => {
    const { token, agent, destinationId } = await setup();
    const id = await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });
    const socket = await AgentSocket.connect(agent.agentToken);
    const run = await api(`/api/backupjob/${id}/run`, { token, method: "POST" });
    expect(run.status).toBe(200);

    const res = await api(`/api/backupjob/${id}`, { token, method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Backup job deleted." });
    expect(await socket.command("job.delete")).toEqual({ type: "job.delete", backupJobId: id });
    expect((await api(`/api/backupjob/${id}`, { token })).status).toBe(404);
    expect((await api(`/api/backupjob/${id}`, { token, method: "DELETE" })).status).toBe(404);
    expect(await db().select().from(backupRuns).where(eq(backupRuns.backupJobId, id))).toHaveLength(1);
    const history = await api(`/api/backupjob/${id}/history`, { token });
    expect(history.status).toBe(200);
    expect(await history.json()).toHaveLength(1);
    socket.close();
  });

  it("triggers a run only for an enabled job whose agent is online", async () => {
    const { token, agent, destinationId } = await setup("Free", ["Full", "Differential"]);
    const id = await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });

    const offline = await api(`/api/backupjob/${id}/run`, { token, method: "POST" });
    expect(offline.status).toBe(400);
    expect((await offline.json<{ error: string }>()).error).toContain("Agent is offline");

    const socket = await AgentSocket.connect(agent.agentToken);
    const res = await api(`/api/backupjob/${id}/run`, { token, json: { backupMode: "Differential" } });
    expect(res.status).toBe(200);
    const body = await res.json<{ message: string; backupRunId: string }>();
    expect(body).toEqual({ message: "Backup triggered.", backupRunId: expect.any(String) });
    expect(await socket.command("backup.run")).toEqual({ type: "backup.run", backupRunId: body.backupRunId, backupJobId: id, backupMode: "Differential" });
    const history = await (await api(`/api/backupjob/${id}/history`, { token })).json();
    expect(history).toEqual([
      { backupRunId: body.backupRunId, backupMode: "Differential", trigger: "Manual", status: "Queued", startedUtc: null, finishedUtc: null, durationMs: null, totalSize: null, bytesDone: null, error: null },
    ]);

    const badMode = await api(`/api/backupjob/${id}/run`, { token, json: { backupMode: "Incremental" } });
    expect(badMode.status).toBe(400);

    await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { isEnabled: false } });
    const disabled = await api(`/api/backupjob/${id}/run`, { token, method: "POST" });
    expect(disabled.status).toBe(400);
    expect((await disabled.json<{ error: string }>()).error).toBe("Backup job is disabled.");
    expect((await api(`/api/backupjob/${crypto.randomUUID()}/run`, { token, method: "POST" })).status).toBe(404);
    socket.close();
  });

  it("keeps a job orphaned and disabled after its agent is deleted; it cannot run or be enabled without an agent", async () => {
    const { token, subscriberId, agent, destinationId } = await setup("Ultimate");
    const id = await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });
    expect((await api(`/api/agent/${agent.agentId}`, { token, method: "DELETE" })).status).toBe(200);

    expect(await (await api(`/api/backupjob/${id}`, { token })).json()).toMatchObject({ agentId: null, isEnabled: false, databases: [] });
    const dueAt = async () => (await db().select({ at: backupJobs.nextDueAt }).from(backupJobs).where(eq(backupJobs.id, id)))[0].at;
    expect(await dueAt()).toBeNull(); // never due for the missed-schedule sweep
    const run = await api(`/api/backupjob/${id}/run`, { token, method: "POST" });
    expect(run.status).toBe(400);
    expect((await run.json<{ error: string }>()).error).toContain("no agent");
    const enable = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { isEnabled: true } });
    expect(enable.status).toBe(400);
    const stranger = await setup();
    const foreignDatabase = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { databaseIds: stranger.agent.databaseIds } });
    expect(foreignDatabase.status).toBe(400);
    const foreignDestination = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { destinationIds: [stranger.destinationId] } });
    expect(foreignDestination.status).toBe(400);
    const rename = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { name: "Kept for history" } });
    expect(rename.status).toBe(200);

    const newAgent = await createAgent(subscriberId, { databases: ["Adopted"] });
    const adopt = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { agentId: newAgent.agentId, databaseIds: newAgent.databaseIds, isEnabled: true } });
    expect(adopt.status).toBe(200);
    expect(await adopt.json()).toMatchObject({ name: "Kept for history", agentId: newAgent.agentId, isEnabled: true, databases: [{ name: "Adopted" }] });
    expect(await dueAt()).not.toBeNull();
  });

  it("answers another subscriber's job with 404 everywhere and needs a token", async () => {
    const owner = await setup();
    const other = await createSubscriber();
    const id = await createJob(owner.token, { agentId: owner.agent.agentId, databaseIds: owner.agent.databaseIds, destinationIds: [owner.destinationId] });
    const attempts: [string, string, unknown][] = [
      ["GET", `/api/backupjob/${id}`, undefined],
      ["PUT", `/api/backupjob/${id}`, { name: "stolen" }],
      ["DELETE", `/api/backupjob/${id}`, undefined],
      ["POST", `/api/backupjob/${id}/run`, {}],
      ["GET", `/api/backupjob/${id}/history`, undefined],
    ];
    for (const [method, path, json] of attempts) {
      const res = await api(path, { token: other.token, method, json });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.json(), `${method} ${path}`).toMatchObject({ error: "Backup job not found.", code: "not_found" });
      expect((await api(path, { method, json })).status, `${method} ${path} without token`).toBe(401);
    }
    expect(await (await api("/api/backupjob", { token: other.token })).json()).toEqual([]);
    expect((await api("/api/backupjob")).status).toBe(401);
    expect((await api("/api/backupjob", { json: { name: "x", agentId: owner.agent.agentId, databaseIds: owner.agent.databaseIds, destinationIds: [owner.destinationId] } })).status).toBe(401);
    expect(await (await api(`/api/backupjob/${id}`, { token: owner.token })).json()).toMatchObject({ name: "Nightly" });
  });

  it("paginates the job list with X-Total-Count and Link, newest first", async () => {
    const { token, agent, destinationId } = await setup("Ultimate");
    const start = Date.parse("2026-11-27T10:00:00Z");
    for (let i = 0; i < 5; i++) {
      setClock(() => start + i * 1000);
      await createJob(token, { name: `Job ${i}`, agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });
    }
    const page = await api("/api/backupjob?page=2&pageSize=2", { token });
    expect(page.status).toBe(200);
    expect(page.headers.get("x-total-count")).toBe("5");
    expect(page.headers.get("link")).toContain('rel="next"');
    expect(page.headers.get("link")).toContain('rel="prev"');
    expect((await page.json<{ name: string }[]>()).map((j) => j.name)).toEqual(["Job 2", "Job 1"]);
    expect((await api("/api/backupjob?pageSize=201", { token })).status).toBe(400);
    expect((await api("/api/backupjob?page=0", { token })).status).toBe(400);
  });
});

describe("what the job's agent can do", () => {
  const DIFFERENTIAL_REFUSED = 'Engine "mssql-default" (MicrosoftSql) cannot make Differential backups (it can: Full, TransactionLog).';
  const schedules = (...modes: BackupMode[]) => modes.map((backupMode) => ({ backupMode, cronExpression: "0 */6 * * *" }));
  const jobCount = async (subscriberId: string) => db().$count(backupJobs, eq(backupJobs.subscriberId, subscriberId));

  it("refuses at creation a schedule in a mode one of the job's engines cannot do, naming engine and mode, and stores nothing", async () => {
    const { token, subscriberId, agent, destinationId } = await setup("Free", ["Full", "TransactionLog"]);
    const socket = await AgentSocket.connect(agent.agentToken);
    const body = { name: "Chain", agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] };
    const res = await api("/api/backupjob", { token, json: { ...body, schedules: schedules("Full", "Differential") } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: DIFFERENTIAL_REFUSED, details: [{ path: "schedules.1.backupMode", message: DIFFERENTIAL_REFUSED }] });
    expect(await jobCount(subscriberId)).toBe(0);

    const ok = await api("/api/backupjob", { token, json: { ...body, schedules: schedules("Full", "TransactionLog") } });
    expect(ok.status).toBe(200);
    expect(await jobCount(subscriberId)).toBe(1);
    // Only the accepted job reached the agent.
    expect((await socket.command("job.upsert")).job.schedules.map((s) => s.backupMode)).toEqual(["Full", "TransactionLog"]);
    expect(socket.commands()).toHaveLength(1);
    socket.close();
  });

  it("treats an engine that reported no capabilities (a 1.0 agent) as Full-only", async () => {
    const { token, agent, destinationId } = await setup();
    const res = await api("/api/backupjob", {
      token,
      json: { name: "Logs", agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId], schedules: schedules("TransactionLog") },
    });
    expect(res.status).toBe(400);
    expect((await res.json<{ error: string }>()).error).toBe('Engine "mssql-default" (MicrosoftSql) cannot make TransactionLog backups (it can: Full).');
  });

  it("refuses an update that adds such a schedule or moves the job to an engine that cannot; a job already wrong can still be renamed or disabled", async () => {
    const { token, subscriberId, agent, destinationId } = await setup("Ultimate", ["Full", "TransactionLog"]);
    const id = await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId], schedules: schedules("Full", "TransactionLog") });
    const before = await db().select().from(backupJobs).where(eq(backupJobs.id, id));

    const addDifferential = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { name: "Renamed", schedules: schedules("Full", "Differential") } });
    expect(addDifferential.status).toBe(400);
    expect((await addDifferential.json<{ error: string }>()).error).toBe(DIFFERENTIAL_REFUSED);
    const fullOnly = await createAgent(subscriberId, { databases: ["Legacy"] });
    const move = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { agentId: fullOnly.agentId, databaseIds: fullOnly.databaseIds } });
    expect(move.status).toBe(400);
    expect((await move.json<{ error: string; details: { path: string }[] }>()).details[0].path).toBe("schedules.1.backupMode");
    expect(await db().select().from(backupJobs).where(eq(backupJobs.id, id))).toEqual(before);

    // The agent later reports less than it did: the job is wrong now, yet renaming or disabling it works.
    await db().update(engines).set({ backupModes: ["Full"] }).where(eq(engines.agentId, agent.agentId));
    const rename = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { name: "Renamed", isEnabled: false } });
    expect(rename.status).toBe(200);
    const reschedule = await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { schedules: schedules("Full", "TransactionLog") } });
    expect(reschedule.status).toBe(400);
  });

  it("refuses a run-now in a mode the job's engines cannot do, and queues nothing", async () => {
    const { token, subscriberId, agent, destinationId } = await setup("Free", ["Full", "TransactionLog"]);
    const id = await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });
    const socket = await AgentSocket.connect(agent.agentToken);
    await socket.command("job.upsert");
    const res = await api(`/api/backupjob/${id}/run`, { token, json: { backupMode: "Differential" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: DIFFERENTIAL_REFUSED, details: [{ path: "backupMode" }] });
    expect(await db().$count(backupRuns, eq(backupRuns.subscriberId, subscriberId))).toBe(0);
    const log = await api(`/api/backupjob/${id}/run`, { token, json: { backupMode: "TransactionLog" } });
    expect(log.status).toBe(200);
    expect((await socket.command("backup.run")).backupMode).toBe("TransactionLog");
    expect(socket.commands().filter((c) => c.type === "backup.run")).toHaveLength(1);
    socket.close();
  });

  it("refuses a destination type the job's agent cannot write (a 1.0 agent: LocalStorage, S3Storage, SftpStorage)", async () => {
    const { token, subscriberId, agent, destinationId } = await setup("Ultimate");
    const azure = await createDestination(token, { name: "Archive", type: "AzureBlobStorage", settings: { container: "backups" } });
    const body = { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId, azure] };
    const res = await api("/api/backupjob", { token, json: { name: "To Azure", ...body } });
    expect(res.status).toBe(400);
    const refusal = 'Agent SQL-01 cannot write AzureBlobStorage destinations such as "Archive" (it can write: LocalStorage, S3Storage, SftpStorage); update the agent or choose another destination.';
    expect(await res.json()).toMatchObject({ error: refusal, details: [{ path: "destinationIds.1" }] });
    expect(await jobCount(subscriberId)).toBe(0);

    const local = await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });
    const addAzure = await api(`/api/backupjob/${local}`, { token, method: "PUT", json: { destinationIds: [azure] } });
    expect(addAzure.status).toBe(400);
    expect((await addAzure.json<{ error: string }>()).error).toBe(refusal);
    // Nor can a destination a job writes to become a type that job's agent cannot write.
    const retype = await api(`/api/destination/${destinationId}`, { token, method: "PUT", json: { name: "Archive", type: "AzureBlobStorage", settings: { container: "backups" } } });
    expect(retype.status).toBe(400);
    expect(await retype.json()).toMatchObject({ error: refusal, details: [{ path: "type" }] });
    expect(await (await api(`/api/destination/${destinationId}`, { token })).json()).toMatchObject({ type: "LocalStorage" });

    // A 1.1 agent that says it writes Azure Blob gets the job.
    const modern = await createAgent(subscriberId, { destinationTypes: ["LocalStorage", "AzureBlobStorage"] });
    const ok = await api("/api/backupjob", { token, json: { name: "To Azure", agentId: modern.agentId, databaseIds: modern.databaseIds, destinationIds: [azure] } });
    expect(ok.status).toBe(200);
  });
});
