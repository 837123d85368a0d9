import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { backupJobs } from "../../../src/db/schema";
import { api, createSubscriber, db } from "../../helpers";
import { AgentSocket, createAgent, createDestination, createJob } from "../../support/backup";

const PASSPHRASE = "correct horse battery";

/** An encrypted job on one agent, and a second agent of the same subscriber (an agent slot anyone with a registration token could fill). */
async function encryptedJobAndSecondAgent() {
  const user = await createSubscriber({ plan: "Starter" });
  const agent = await createAgent(user.subscriberId);
  const target = await createAgent(user.subscriberId, { databases: ["Target"] });
  const destinationId = await createDestination(user.token);
  const id = await createJob(user.token, {
    agentId: agent.agentId,
    databaseIds: agent.databaseIds,
    destinationIds: [destinationId],
    encryption: { enabled: true, passphrase: PASSPHRASE },
  });
  return { ...user, agent, target, destinationId, id };
}

describe("the passphrase is write-only: a moved job never takes it to another agent", () => {
  it("moving an encrypted job without the passphrase is a 400 and changes nothing; the new agent receives nothing", async () => {
    const { token, target, destinationId, id } = await encryptedJobAndSecondAgent();
    const before = await db().select().from(backupJobs).where(eq(backupJobs.id, id));
    const move = { agentId: target.agentId, databaseIds: target.databaseIds, destinationIds: [destinationId] };
    for (const json of [move, { ...move, encryption: { enabled: true } }]) {
      const res = await api(`/api/backupjob/${id}`, { token, method: "PUT", json });
      expect(res.status).toBe(400);
      const body = await res.json<{ error: string; details: { path: string }[] }>();
      expect(body.error).toMatch(/passphrase is required again/);
      expect(body.details[0].path).toBe("encryption.passphrase");
    }
    expect(await db().select().from(backupJobs).where(eq(backupJobs.id, id))).toEqual(before);
    const socket = await AgentSocket.connect(target.agentToken);
    await socket.next((f) => f.type === "welcome");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(JSON.stringify(socket.frames)).not.toContain(PASSPHRASE);
    socket.close();
  });

  it("with a new passphrase the move goes through and the new agent gets the new one only", async () => {
    const { token, target, destinationId, id } = await encryptedJobAndSecondAgent();
    const fresh = "a different passphrase";
    const res = await api(`/api/backupjob/${id}`, {
      token,
      method: "PUT",
      json: { agentId: target.agentId, databaseIds: target.databaseIds, destinationIds: [destinationId], encryption: { enabled: true, passphrase: fresh } },
    });
    expect(res.status).toBe(200);
    const socket = await AgentSocket.connect(target.agentToken);
    expect((await socket.command("job.upsert")).job.encryption).toEqual({ enabled: true, algorithm: "AES-256", passphrase: fresh });
    expect(JSON.stringify(socket.frames)).not.toContain(PASSPHRASE);
    socket.close();
  });

  it("moving it unencrypted, or moving a job that never was encrypted, needs no passphrase", async () => {
    const { token, target, destinationId, id } = await encryptedJobAndSecondAgent();
    const off = await api(`/api/backupjob/${id}`, {
      token,
      method: "PUT",
      json: { agentId: target.agentId, databaseIds: target.databaseIds, destinationIds: [destinationId], encryption: { enabled: false } },
    });
    expect(off.status).toBe(200);
    const [row] = await db().select().from(backupJobs).where(eq(backupJobs.id, id));
    expect(row.sealedPassphrase).toBeNull();
  });
});
