import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { destinations } from "../../../src/db/schema";
import { api, createSubscriber, db } from "../../helpers";
import { AgentSocket, createAgent, createDestination, createJob } from "../../support/backup";

const VALID = [
  { type: "LocalStorage", settings: { path: "D:\\Backups" } },
  { type: "S3Storage", settings: { bucket: "acme-backups", region: "eu-west-2", prefix: "sql/", endpoint: "https://s3.example.com" } },
  { type: "AzureBlobStorage", settings: { container: "backups", prefix: "prod" } },
  { type: "SftpStorage", settings: { host: "backup.example.com", port: 22, path: "/srv/backups" } },
  { type: "GoogleCloudStorage", settings: { bucket: "acme_backups" } },
];

describe("destinations", () => {
  it("creates each type, lists them in the seed shape and returns the detail", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Ultimate" });
    const { agentId } = await createAgent(subscriberId);
    const ids: string[] = [];
    for (const { type, settings } of VALID) {
      const res = await api("/api/destination", { token, json: { name: `${type} target`, type, settings, agentId } });
      expect(res.status, type).toBe(200);
      const body = await res.json<{ destinationId: string }>();
      expect(body).toEqual({ destinationId: expect.any(String), name: `${type} target`, type, agentId });
      ids.push(body.destinationId);
    }
    const list = await api("/api/destination", { token });
    expect(list.status).toBe(200);
    const rows = await list.json<{ destinationId: string }[]>();
    expect(rows.map((r) => r.destinationId).sort()).toEqual([...ids].sort());
    expect(Object.keys(rows[0]).sort()).toEqual(["agentId", "destinationId", "name", "type"]);

    const detail = await api(`/api/destination/${ids[1]}`, { token });
    expect(await detail.json()).toMatchObject({
      destinationId: ids[1],
      type: "S3Storage",
      settings: VALID[1].settings,
      credentialReferenceId: null,
    });
  });

  it("validates settings per type and stores nothing on a 400", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Ultimate" });
    const cases: [Record<string, unknown>, string][] = [
      [{ type: "LocalStorage", settings: {} }, "settings.path"],
      [{ type: "S3Storage", settings: { bucket: "Bad_Bucket", region: "eu-west-2" } }, "settings.bucket"],
      [{ type: "S3Storage", settings: { bucket: "acme", region: "eu-west-2", endpoint: "ftp://x" } }, "settings.endpoint"],
      [{ type: "SftpStorage", settings: { host: "h", port: 70000, path: "/x" } }, "settings.port"],
      [{ type: "SftpStorage", settings: { host: "h", port: "22", path: "/x" } }, "settings.port"],
      [{ type: "AzureBlobStorage", settings: { container: "a" } }, "settings.container"],
      [{ type: "GoogleCloudStorage", settings: { bucket: "ok-bucket", path: "/unexpected" } }, "settings"],
      [{ type: "Dropbox", settings: { path: "/x" } }, "type"],
      [{ type: "LocalStorage", settings: { path: "/x" }, name: "" }, "name"],
    ];
    for (const [body, path] of cases) {
      const res = await api("/api/destination", { token, json: { name: "target", ...body } });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const error = await res.json<{ error: string; details: { path: string }[] }>();
      expect(error.error).toBeTruthy();
      expect(error.details[0].path, JSON.stringify(body)).toBe(path);
    }
    const unknownAgent = await api("/api/destination", { token, json: { name: "t", type: "LocalStorage", settings: { path: "/x" }, agentId: crypto.randomUUID() } });
    expect(unknownAgent.status).toBe(400);
    const unknownCredential = await api("/api/destination", {
      token,
      json: { name: "t", type: "LocalStorage", settings: { path: "/x" }, credentialReferenceId: crypto.randomUUID() },
    });
    expect(unknownCredential.status).toBe(400);
    expect(await db().select().from(destinations).where(eq(destinations.subscriberId, subscriberId))).toEqual([]);
  });

  it("enforces the plan's destination limit with a 403", async () => {
    const { token } = await createSubscriber({ plan: "Free" });
    await createDestination(token);
    await createDestination(token);
    const res = await api("/api/destination", { token, json: { name: "third", type: "LocalStorage", settings: { path: "/x" } } });
    expect(res.status).toBe(403);
    expect((await res.json<{ error: string }>()).error).toContain("at most 2 destinations");
    expect(await (await api("/api/destination", { token })).json()).toHaveLength(2);
  });

  it("updates only the fields sent, re-validating settings against the type, and re-syncs jobs using it", async () => {
    const { token, subscriberId } = await createSubscriber();
    const agent = await createAgent(subscriberId);
    const destinationId = await createDestination(token, { agentId: agent.agentId });
    await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });
    const socket = await AgentSocket.connect(agent.agentToken);
    await socket.command("job.upsert");

    const renamed = await api(`/api/destination/${destinationId}`, { token, method: "PUT", json: { name: "Renamed" } });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ destinationId, name: "Renamed", type: "LocalStorage", settings: { path: "/var/backups" } });

    const badSettings = await api(`/api/destination/${destinationId}`, { token, method: "PUT", json: { settings: { bucket: "x" } } });
    expect(badSettings.status).toBe(400);
    const typeWithoutSettings = await api(`/api/destination/${destinationId}`, { token, method: "PUT", json: { type: "S3Storage" } });
    expect(typeWithoutSettings.status).toBe(400);

    const otherAgent = await createAgent(subscriberId);
    const rebound = await api(`/api/destination/${destinationId}`, { token, method: "PUT", json: { agentId: otherAgent.agentId } });
    expect(rebound.status).toBe(400);
    expect((await rebound.json<{ error: string }>()).error).toContain("another agent");

    const moved = await api(`/api/destination/${destinationId}`, {
      token,
      method: "PUT",
      json: { type: "S3Storage", settings: { bucket: "acme-backups", region: "eu-west-1" } },
    });
    expect(moved.status).toBe(200);
    expect(await moved.json()).toMatchObject({ name: "Renamed", type: "S3Storage", settings: { bucket: "acme-backups", region: "eu-west-1" } });

    const upsert = await socket.command("job.upsert", (c) => c.job.destinations[0].type === "S3Storage");
    expect(upsert.job.destinations[0]).toEqual({
      destinationId,
      name: "Renamed",
      type: "S3Storage",
      settings: { bucket: "acme-backups", region: "eu-west-1" },
      credentialReferenceId: null,
    });
    socket.close();
  });

  it("refuses to delete a destination a job uses, then deletes it once the job is gone", async () => {
    const { token, subscriberId } = await createSubscriber();
    const agent = await createAgent(subscriberId);
    const destinationId = await createDestination(token);
    const jobId = await createJob(token, { name: "Uses it", agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });

    const refused = await api(`/api/destination/${destinationId}`, { token, method: "DELETE" });
    expect(refused.status).toBe(400);
    expect((await refused.json<{ error: string }>()).error).toContain('backup job "Uses it"');

    expect((await api(`/api/backupjob/${jobId}`, { token, method: "DELETE" })).status).toBe(200);
    const deleted = await api(`/api/destination/${destinationId}`, { token, method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ message: "Destination deleted." });
    expect((await api(`/api/destination/${destinationId}`, { token })).status).toBe(404);
  });

  it("answers another subscriber's destination with 404 and needs a token", async () => {
    const owner = await createSubscriber();
    const other = await createSubscriber();
    const destinationId = await createDestination(owner.token);
    for (const [method, json] of [
      ["GET", undefined],
      ["PUT", { name: "stolen" }],
      ["DELETE", undefined],
    ] as const) {
      const res = await api(`/api/destination/${destinationId}`, { token: other.token, method, json });
      expect(res.status, method).toBe(404);
      expect(await res.json()).toMatchObject({ error: "Destination not found." });
    }
    expect(await (await api("/api/destination", { token: other.token })).json()).toEqual([]);
    expect((await api(`/api/destination/${destinationId}`, { token: owner.token })).status).toBe(200);
    expect((await api("/api/destination")).status).toBe(401);
    expect((await api(`/api/destination/${destinationId}`, { method: "DELETE" })).status).toBe(401);
    expect((await api(`/api/destination/${destinationId}`, { method: "PUT", json: { name: "x" } })).status).toBe(401);
    expect((await api("/api/destination", { json: { name: "x", type: "LocalStorage", settings: { path: "/x" } } })).status).toBe(401);
  });
});
