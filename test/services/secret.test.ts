import { env, runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { backupJobs, credentials, webhooks } from "../../src/db/schema";
import { SECRET_BINDINGS, openSecret, sealSecret } from "../../src/services/secret";
import { api, createSubscriber, db } from "../helpers";
import { connectAgent, subscriberWithAgent } from "../support/agent";
import { createAgent, createDestination, createJob } from "../support/backup";
import { sealUnbound } from "../support/secret";

const OTHER_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
const ROW = SECRET_BINDINGS.webhookSecret("row-1");

describe("secrets at rest (AES-256-GCM, bound to their row)", () => {
  it("round-trips, with a fresh IV each time and no plaintext in the sealed form", async () => {
    const a = await sealSecret(env, "hunter2-password", ROW);
    const b = await sealSecret(env, "hunter2-password", ROW);
    expect(a).not.toBe(b);
    expect(a).not.toContain("hunter2");
    expect(a).toMatch(/^v2\.[0-9a-f]{12}\./);
    expect(await openSecret(env, a, ROW)).toBe("hunter2-password");
  });

  it("does not open for another row: a sealed value copied elsewhere is useless", async () => {
    const sealed = await sealSecret(env, "value", ROW);
    await expect(openSecret(env, sealed, SECRET_BINDINGS.webhookSecret("row-2"))).rejects.toThrow();
    const passphrase = await sealSecret(env, "pass", SECRET_BINDINGS.passphrase("job-1", "agent-a"));
    await expect(openSecret(env, passphrase, SECRET_BINDINGS.passphrase("job-1", "agent-b"))).rejects.toThrow();
  });

  it("still opens what the previous key sealed after rotation, bound or from release 1", async () => {
    const sealed = await sealSecret({ ...env, ENCRYPTION_KEY: OTHER_KEY }, "old secret", ROW);
    await expect(openSecret(env, sealed, ROW)).rejects.toThrow();
    const rotated = { ...env, ENCRYPTION_KEY_PREVIOUS: OTHER_KEY };
    expect(await openSecret(rotated, sealed, ROW)).toBe("old secret");
    expect(await openSecret(rotated, await sealUnbound(OTHER_KEY, "release 1"), ROW)).toBe("release 1");
  });

  it("refuses a tampered ciphertext", async () => {
    const sealed = await sealSecret(env, "value", ROW);
    const tampered = sealed.slice(0, -2) + (sealed.endsWith("A") ? "BB" : "AA");
    await expect(openSecret(env, tampered, ROW)).rejects.toThrow();
  });
});

describe("rows sealed by release 1 (unbound) keep working and are bound on their next write", () => {
  it("a webhook's secret", async () => {
    const { token } = await createSubscriber({ plan: "Professional" });
    const res = await api("/api/webhook", { token, json: { url: "https://hooks.example.com/a", events: ["backup.failure"] } });
    const { webhookId, secret } = await res.json<{ webhookId: string; secret: string }>();
    await db().update(webhooks).set({ sealedSecret: await sealUnbound(env.ENCRYPTION_KEY, secret) }).where(eq(webhooks.id, webhookId));
    expect((await api(`/api/webhook/${webhookId}`, { token, method: "PUT", json: { events: ["backup.success"] } })).status).toBe(200);
    const [row] = await db().select().from(webhooks).where(eq(webhooks.id, webhookId));
    expect(row.sealedSecret).toMatch(/^v2\./);
    expect(await openSecret(env, row.sealedSecret, SECRET_BINDINGS.webhookSecret(webhookId))).toBe(secret);
  });

  it("a job's passphrase: still sent to its agent, then bound to job and agent", async () => {
    const { token, subscriberId } = await createSubscriber();
    const agent = await createAgent(subscriberId);
    const destinationId = await createDestination(token);
    const id = await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId], encryption: { enabled: true, passphrase: "release one passphrase" } });
    await db().update(backupJobs).set({ sealedPassphrase: await sealUnbound(env.ENCRYPTION_KEY, "release one passphrase") }).where(eq(backupJobs.id, id));
    expect((await api(`/api/backupjob/${id}`, { token, method: "PUT", json: { name: "Renamed" } })).status).toBe(200);
    const [row] = await db().select().from(backupJobs).where(eq(backupJobs.id, id));
    expect(row.sealedPassphrase).toMatch(/^v2\./);
    expect(await openSecret(env, row.sealedPassphrase!, SECRET_BINDINGS.passphrase(id, agent.agentId))).toBe("release one passphrase");
    const socket = await connectAgent(agent.agentToken);
    const upsert = await socket.nextOfType("command");
    expect(upsert.command).toMatchObject({ type: "job.upsert", job: { name: "Renamed", encryption: { passphrase: "release one passphrase" } } });
  });
});

describe("the agent's command queue keeps secrets sealed until they are sent", () => {
  it("credential fields and passphrases queued for an offline agent are not stored in plain text, and arrive intact", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Starter" });
    const agent = await createAgent(subscriberId);
    const credential = { $type: "S3Credential", accessKeyId: "AKIAEXAMPLE", secretAccessKey: "wJalrXUtnFEMI-queue-secret", region: "eu-west-2" };
    expect((await api("/api/credential", { token, json: { name: "S3", agentId: agent.agentId, credential } })).status).toBe(200);
    const destinationId = await createDestination(token);
    const passphrase = "queued passphrase 42";
    await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId], encryption: { enabled: true, passphrase } });

    const stored = await runInDurableObject(env.AGENT_SESSION.getByName(agent.agentId), (_i, state) =>
      state.storage.sql.exec<{ body: string }>("SELECT body FROM commands ORDER BY seq").toArray(),
    );
    expect(stored).toHaveLength(2);
    for (const { body } of stored) expect(body).toMatch(/^v2\.[0-9a-f]{12}\./);
    expect(JSON.stringify(stored)).not.toContain("wJalrXUtnFEMI");
    expect(JSON.stringify(stored)).not.toContain(passphrase);

    const socket = await connectAgent(agent.agentToken);
    expect((await socket.nextOfType("command")).command).toMatchObject({ type: "credential.upsert", credential });
    expect((await socket.nextOfType("command")).command).toMatchObject({ type: "job.upsert", job: { encryption: { passphrase } } });
    const [row] = await db().select().from(credentials).where(eq(credentials.agentId, agent.agentId));
    expect(row.sealedCredential).not.toContain("wJalrXUtnFEMI");
  });

  it("a queued body moved to another row does not open", async () => {
    const { agentId } = await subscriberWithAgent();
    const stub = env.AGENT_SESSION.getByName(agentId);
    await stub.enqueue({ type: "credential.upsert", credentialReferenceId: crypto.randomUUID(), name: "x", credential: { $type: "S3Credential", accessKeyId: "A", secretAccessKey: "S", region: "eu-west-2" } } as never);
    const sealed = await runInDurableObject(stub, (_i, state) => state.storage.sql.exec<{ id: string; body: string }>("SELECT id, body FROM commands").one());
    await expect(openSecret(env, sealed.body, SECRET_BINDINGS.agentCommand(sealed.id))).resolves.toContain('"S"');
    await expect(openSecret(env, sealed.body, SECRET_BINDINGS.agentCommand(crypto.randomUUID()))).rejects.toThrow();
  });
});
