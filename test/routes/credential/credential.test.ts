import { eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { credentials, logMessages } from "../../../src/db/schema";
import { SECRET_BINDINGS, openSecret } from "../../../src/services/secret";
import { api, createSubscriber, db } from "../../helpers";
import { AgentSocket, createAgent, createDestination } from "../../support/backup";

const S3_CREDENTIAL = { $type: "S3Credential", accessKeyId: "AKIAEXAMPLE", secretAccessKey: "wJalrXUtnFEMI-secret", region: "eu-west-2" };

describe("credentials", () => {
  it("creates a sealed credential, lists it without secrets, and sends it to the agent", async () => {
    const { token, subscriberId } = await createSubscriber();
    const agent = await createAgent(subscriberId);
    const socket = await AgentSocket.connect(agent.agentToken);

    const res = await api("/api/credential", { token, json: { name: "S3 Access Key", agentId: agent.agentId, credential: S3_CREDENTIAL } });
    expect(res.status).toBe(200);
    const created = await res.json<{ credentialReferenceId: string }>();
    expect(created).toEqual({ credentialReferenceId: expect.any(String), name: "S3 Access Key", type: "S3Credential", agentId: agent.agentId });

    const upsert = await socket.command("credential.upsert");
    expect(upsert).toEqual({ type: "credential.upsert", credentialReferenceId: created.credentialReferenceId, name: "S3 Access Key", credential: S3_CREDENTIAL });

    const [row] = await db().select().from(credentials).where(eq(credentials.id, created.credentialReferenceId));
    expect(row.sealedCredential).not.toContain("wJalrXUtnFEMI");
    expect(row.sealedCredential).toMatch(/^v2\.[0-9a-f]{12}\./);
    expect(JSON.parse(await openSecret(env, row.sealedCredential, SECRET_BINDINGS.credential(row.id)))).toEqual(S3_CREDENTIAL);

    const list = await api("/api/credential", { token });
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).not.toContain("wJalrXUtnFEMI");
    expect(JSON.parse(text)).toEqual([created]);

    const logs = await db().select().from(logMessages).where(eq(logMessages.subscriberId, subscriberId));
    expect(JSON.stringify(logs)).not.toContain("wJalrXUtnFEMI");
    socket.close();
  });

  it("validates every $type variant and stores nothing on a 400", async () => {
    const { token, subscriberId } = await createSubscriber();
    const { agentId } = await createAgent(subscriberId);
    const good = [
      { $type: "BasicCredential", username: "sa", password: "pw" },
      { $type: "AzureBlobCredential", accountName: "acct", accountKey: "key==" },
      { $type: "SftpCredential", username: "backup", privateKey: "-----BEGIN KEY-----" },
      { $type: "GoogleCloudCredential", serviceAccountJson: JSON.stringify({ type: "service_account" }) },
      { $type: "ConnectionStringCredential", connectionString: "Server=.;Trusted_Connection=True" },
    ];
    for (const credential of good) {
      const res = await api("/api/credential", { token, json: { name: credential.$type, agentId, credential } });
      expect(res.status, credential.$type).toBe(200);
      expect((await res.json<{ type: string }>()).type).toBe(credential.$type);
    }
    const bad: [unknown, string][] = [
      [{ $type: "FtpCredential", username: "x" }, "credential.$type"],
      [{ $type: "BasicCredential", username: "sa" }, "credential.password"],
      [{ $type: "SftpCredential", username: "backup" }, "credential"],
      [{ $type: "GoogleCloudCredential", serviceAccountJson: "not json" }, "credential.serviceAccountJson"],
      [{ $type: "S3Credential", accessKeyId: "a", secretAccessKey: "b", region: "eu-west-2", extra: 1 }, "credential"],
    ];
    for (const [credential, path] of bad) {
      const res = await api("/api/credential", { token, json: { name: "bad", agentId, credential } });
      expect(res.status, JSON.stringify(credential)).toBe(400);
      const body = await res.json<{ error: string; details: { path: string }[] }>();
      expect(body.error).toBeTruthy();
      expect(body.details[0].path).toBe(path);
    }
    const noAgent = await api("/api/credential", { token, json: { name: "x", agentId: crypto.randomUUID(), credential: S3_CREDENTIAL } });
    expect(noAgent.status).toBe(400);
    expect(await noAgent.json()).toMatchObject({ error: "agentId: Agent not found." });
    const rows = await db().select().from(credentials).where(eq(credentials.subscriberId, subscriberId));
    expect(rows).toHaveLength(good.length);
  });

  it("refuses another subscriber's agent, hides other subscribers' credentials, and needs a token", async () => {
    const owner = await createSubscriber();
    const other = await createSubscriber();
    const { agentId } = await createAgent(owner.subscriberId);
    const res = await api("/api/credential", { token: owner.token, json: { name: "mine", agentId, credential: S3_CREDENTIAL } });
    const { credentialReferenceId } = await res.json<{ credentialReferenceId: string }>();

    const foreign = await api("/api/credential", { token: other.token, json: { name: "theirs", agentId, credential: S3_CREDENTIAL } });
    expect(foreign.status).toBe(400);
    expect(await (await api("/api/credential", { token: other.token })).json()).toEqual([]);
    expect((await api(`/api/credential/${credentialReferenceId}`, { token: other.token, method: "DELETE" })).status).toBe(404);

    expect((await api("/api/credential")).status).toBe(401);
    expect((await api("/api/credential", { json: { name: "x", agentId, credential: S3_CREDENTIAL } })).status).toBe(401);
    expect((await api(`/api/credential/${credentialReferenceId}`, { method: "DELETE" })).status).toBe(401);
  });

  it("deletes a credential (the agent is told) but not while a destination uses it", async () => {
    const { token, subscriberId } = await createSubscriber();
    const agent = await createAgent(subscriberId);
    const res = await api("/api/credential", { token, json: { name: "S3", agentId: agent.agentId, credential: S3_CREDENTIAL } });
    const { credentialReferenceId } = await res.json<{ credentialReferenceId: string }>();
    const destinationId = await createDestination(token, {
      name: "S3",
      type: "S3Storage",
      agentId: agent.agentId,
      settings: { bucket: "acme-backups", region: "eu-west-2" },
      credentialReferenceId,
    });

    const refused = await api(`/api/credential/${credentialReferenceId}`, { token, method: "DELETE" });
    expect(refused.status).toBe(400);
    expect((await refused.json<{ error: string }>()).error).toContain('destination "S3"');

    expect((await api(`/api/destination/${destinationId}`, { token, method: "DELETE" })).status).toBe(200);
    const deleted = await api(`/api/credential/${credentialReferenceId}`, { token, method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ message: "Credential deleted." });
    expect(await (await api("/api/credential", { token })).json()).toEqual([]);
    expect((await api(`/api/credential/${credentialReferenceId}`, { token, method: "DELETE" })).status).toBe(404);

    const socket = await AgentSocket.connect(agent.agentToken);
    await socket.command("credential.upsert");
    expect(await socket.command("credential.delete")).toEqual({ type: "credential.delete", credentialReferenceId });
    socket.close();
  });
});
