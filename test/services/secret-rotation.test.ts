import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { agents, backupJobs, credentials, users, webhooks } from "../../src/db/schema";
import { CRON, scheduled } from "../../src/scheduled";
import { SECRET_BINDINGS, openSecret, sealSecret } from "../../src/services/secret";
import { RESEAL_PAGE, resealUnderCurrentKeyBatch } from "../../src/services/secret-rotation";
import { adminToken, api, db, randomBase64 } from "../helpers";
import { connectAgent } from "../support/agent";
import { createAgent, createDestination, createJob } from "../support/backup";
import { sealUnbound } from "../support/secret";
import { receiver, recordEvent, runConsumer, subscriberWithWebhook, verifyWithStandardWebhooks } from "../support/webhook";

/** Key A sealed everything below before the rotation; key B (the test Worker's ENCRYPTION_KEY) seals now. */
const KEY_A = randomBase64(32);
const underKeyA = { ...env, ENCRYPTION_KEY: KEY_A } as Env;
/** The deployment during the rotation: ENCRYPTION_KEY=B, ENCRYPTION_KEY_PREVIOUS=A. The test Worker itself has B alone. */
const rotated = { ...env, ENCRYPTION_KEY_PREVIOUS: KEY_A } as Env;

const runDailyCron = (workerEnv: Env) => scheduled({ cron: CRON.daily, scheduledTime: 0, noRetry() {} } as ScheduledController, workerEnv);
const keyStatus = (token = adminToken()) => api("/api/admin/encryption-key", { token });

// Tests share the file's storage: each leaves nothing under another key, and no offline agent whose
// session (holding the Worker's env, without key A) the next test's run would find unreadable.
afterEach(async () => {
  vi.restoreAllMocks();
  await db().update(agents).set({ isOnline: true });
  await resealUnderCurrentKeyBatch({ db: db(), env: rotated });
});

/** The `secret.reseal` log lines written while `run` ran, and every line, to check no secret is in any. */
async function logsDuring(run: () => Promise<unknown>) {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
  vi.spyOn(console, "warn").mockImplementation((line: string) => void lines.push(line));
  vi.spyOn(console, "error").mockImplementation((line: string) => void lines.push(line));
  await run();
  vi.restoreAllMocks();
  const reseal = lines
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === "secret.reseal" || (l.msg === "cron.task.failed" && String(l.task).startsWith("re-seal")));
  return { reseal, text: lines.join("\n") };
}

/** The agent's session Durable Object, given the deployment's secrets (in production it has the Worker's). */
async function setSessionEnv(agentId: string, sessionEnv: Env) {
  await runInDurableObject(env.AGENT_SESSION.getByName(agentId), (instance) => {
    (instance as unknown as { env: Env }).env = sessionEnv;
  });
}

/**
 * One subscriber's secrets as a deployment sealed them under key A: a webhook secret, a credential (sealed by
 * release 1, unbound), a job's passphrase, a TOTP secret, and the credential and job commands queued for the
 * offline agent. Created through the API (under key B), then each sealed again under key A.
 */
async function estateUnderKeyA() {
  const { token, subscriberId, userId, webhook } = await subscriberWithWebhook();
  const agent = await createAgent(subscriberId);
  const credential = { $type: "S3Credential", accessKeyId: "AKIAROTATE", secretAccessKey: "rotate-me-secret-key", region: "eu-west-2" };
  expect((await api("/api/credential", { token, json: { name: "S3", agentId: agent.agentId, credential } })).status).toBe(200);
  const passphrase = "passphrase sealed under A";
  const jobId = await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [await createDestination(token)], encryption: { enabled: true, passphrase } });
  const totpSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
  const [{ id: credentialId }] = await db().select({ id: credentials.id }).from(credentials).where(eq(credentials.agentId, agent.agentId));
  await db().batch([
    db().update(webhooks).set({ sealedSecret: await sealSecret(underKeyA, webhook.secret, SECRET_BINDINGS.webhookSecret(webhook.webhookId)) }).where(eq(webhooks.id, webhook.webhookId)),
    db().update(credentials).set({ sealedCredential: await sealUnbound(KEY_A, JSON.stringify(credential)) }).where(eq(credentials.id, credentialId)),
    db().update(backupJobs).set({ sealedPassphrase: await sealSecret(underKeyA, passphrase, SECRET_BINDINGS.passphrase(jobId, agent.agentId)) }).where(eq(backupJobs.id, jobId)),
    db().update(users).set({ totpSecret: await sealSecret(underKeyA, totpSecret, SECRET_BINDINGS.totpSecret(userId)) }).where(eq(users.id, userId)),
  ]);
  await runInDurableObject(env.AGENT_SESSION.getByName(agent.agentId), async (_instance, state) => {
    for (const row of state.storage.sql.exec<{ id: string; body: string }>("SELECT id, body FROM commands").toArray()) {
      const binding = SECRET_BINDINGS.agentCommand(row.id);
      state.storage.sql.exec("UPDATE commands SET body = ? WHERE id = ?", await sealSecret(underKeyA, await openSecret(env, row.body, binding), binding), row.id);
    }
  });
  return { token, subscriberId, userId, webhook, agent, credential, credentialId, passphrase, jobId, totpSecret };
}

type Estate = Awaited<ReturnType<typeof estateUnderKeyA>>;

async function storedValues(estate: Estate) {
  const [[w], [c], [j], [u]] = await Promise.all([
    db().select({ v: webhooks.sealedSecret }).from(webhooks).where(eq(webhooks.id, estate.webhook.webhookId)),
    db().select({ v: credentials.sealedCredential }).from(credentials).where(eq(credentials.id, estate.credentialId)),
    db().select({ v: backupJobs.sealedPassphrase }).from(backupJobs).where(eq(backupJobs.id, estate.jobId)),
    db().select({ v: users.totpSecret }).from(users).where(eq(users.id, estate.userId)),
  ]);
  return { webhook: w.v, credential: c.v, passphrase: j.v!, totp: u.v! };
}

describe("re-sealing after an ENCRYPTION_KEY rotation (daily cron)", () => {
  it("seals every stored secret under the new key: they work with ENCRYPTION_KEY_PREVIOUS removed", async () => {
    const estate = await estateUnderKeyA();
    expect(await (await keyStatus()).json()).toMatchObject({
      previousKeyConfigured: false,
      notUnderCurrentKey: { webhooks: 1, credentials: 1, backupJobs: 1, users: 1, total: 4 },
    });

    await setSessionEnv(estate.agent.agentId, rotated);
    const { reseal, text } = await logsDuring(() => runDailyCron(rotated));
    await setSessionEnv(estate.agent.agentId, env);
    expect(reseal).toEqual([
      { level: "info", msg: "secret.reseal", resealed: 4, unreadable: 0, remaining: 0, agentCommandsResealed: 2, agentCommandsUnreadable: 0, agentsNotReached: 0 },
    ]);
    for (const secret of [estate.webhook.secret, estate.passphrase, estate.totpSecret, estate.credential.secretAccessKey]) expect(text).not.toContain(secret);

    // Key B alone (the test Worker's env) opens all of it, each still bound to its row.
    const stored = await storedValues(estate);
    expect(await openSecret(env, stored.webhook, SECRET_BINDINGS.webhookSecret(estate.webhook.webhookId))).toBe(estate.webhook.secret);
    expect(JSON.parse(await openSecret(env, stored.credential, SECRET_BINDINGS.credential(estate.credentialId)))).toEqual(estate.credential);
    expect(stored.credential).toMatch(/^v2\./);
    expect(await openSecret(env, stored.passphrase, SECRET_BINDINGS.passphrase(estate.jobId, estate.agent.agentId))).toBe(estate.passphrase);
    expect(await openSecret(env, stored.totp, SECRET_BINDINGS.totpSecret(estate.userId))).toBe(estate.totpSecret);
    expect(await (await keyStatus()).json()).toMatchObject({ notUnderCurrentKey: { total: 0 } });

    // A delivery is signed with the secret the customer was given.
    const { deliveries } = await recordEvent(estate.subscriberId, "backup.success");
    const { fetchFn, requests } = receiver();
    await runConsumer([deliveries[0].id], fetchFn);
    expect(verifyWithStandardWebhooks(estate.webhook.secret, requests[0]).type).toBe("backup.success");

    // The queued commands, then a job change, reach the agent with their secrets.
    const socket = await connectAgent(estate.agent.agentToken);
    expect((await socket.nextOfType("command")).command).toMatchObject({ type: "credential.upsert", credential: estate.credential });
    expect((await socket.nextOfType("command")).command).toMatchObject({ type: "job.upsert", job: { encryption: { passphrase: estate.passphrase } } });
    expect((await api(`/api/backupjob/${estate.jobId}`, { token: estate.token, method: "PUT", json: { name: "Renamed" } })).status).toBe(200);
    expect((await socket.nextOfType("command")).command).toMatchObject({ type: "job.upsert", job: { name: "Renamed", encryption: { passphrase: estate.passphrase } } });
    socket.close();
  });

  it("a connected agent's session re-seals its unacknowledged commands at its alarm", async () => {
    const { agent, credential, passphrase } = await estateUnderKeyA();
    const session = env.AGENT_SESSION.getByName(agent.agentId);
    await setSessionEnv(agent.agentId, rotated);
    const first = await connectAgent(agent.agentToken);
    expect((await first.nextOfType("command")).command).toMatchObject({ type: "credential.upsert" });
    expect((await first.nextOfType("command")).command).toMatchObject({ type: "job.upsert" });
    // Not acknowledged: both stay queued, still under key A, until the alarm.
    expect(await runDurableObjectAlarm(session)).toBe(true);
    await setSessionEnv(agent.agentId, env);
    first.close();

    const again = await connectAgent(agent.agentToken);
    expect((await again.nextOfType("command")).command).toMatchObject({ type: "credential.upsert", credential });
    expect((await again.nextOfType("command")).command).toMatchObject({ type: "job.upsert", job: { encryption: { passphrase } } });
    again.close();
  });

  it("leaves an orphaned job's passphrase (bound to its deleted agent, which no agent may receive) out", async () => {
    const { jobId } = await estateUnderKeyA();
    await db().update(backupJobs).set({ agentId: null, isEnabled: false }).where(eq(backupJobs.id, jobId));
    const [before] = await db().select({ v: backupJobs.sealedPassphrase }).from(backupJobs).where(eq(backupJobs.id, jobId));
    expect(await (await keyStatus()).json()).toMatchObject({ notUnderCurrentKey: { backupJobs: 0, total: 3 } });
    const { reseal } = await logsDuring(() => runDailyCron(rotated));
    expect(reseal[0]).toMatchObject({ resealed: 3, unreadable: 0, remaining: 0 });
    const [after] = await db().select({ v: backupJobs.sealedPassphrase }).from(backupJobs).where(eq(backupJobs.id, jobId));
    expect(after.v).toBe(before.v);
  });

  it("does nothing while ENCRYPTION_KEY_PREVIOUS is not set", async () => {
    const estate = await estateUnderKeyA();
    const before = await storedValues(estate);
    const { reseal } = await logsDuring(() => runDailyCron(env));
    expect(reseal).toEqual([]);
    expect(await storedValues(estate)).toEqual(before);
    expect(await (await keyStatus()).json()).toMatchObject({ notUnderCurrentKey: { total: 4 } });
  });

  it("keeps a passphrase the user changed while the re-seal ran (the write compares the old value)", async () => {
    const estate = await estateUnderKeyA();
    let edited = false;
    // The user's change lands after the re-seal read the job's row and before it writes it back.
    const writesPassphrase = (statements: D1PreparedStatement[]) =>
      statements.some((s) => (s as unknown as { statement?: string }).statement?.startsWith('update "backup_jobs" set "sealed_passphrase" = ?'));
    const DB = new Proxy(env.DB, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (prop !== "batch") return typeof value === "function" ? value.bind(target) : value;
        return async (statements: D1PreparedStatement[]) => {
          if (!edited && writesPassphrase(statements)) {
            edited = true;
            const res = await api(`/api/backupjob/${estate.jobId}`, { token: estate.token, method: "PUT", json: { encryption: { enabled: true, passphrase: "changed meanwhile" } } });
            expect(res.status).toBe(200);
          }
          return target.batch(statements);
        };
      },
    });
    const { reseal } = await logsDuring(() => runDailyCron({ ...rotated, DB }));
    expect(edited).toBe(true);
    expect(reseal[0]).toMatchObject({ resealed: 3, remaining: 0 });
    const { passphrase } = await storedValues(estate);
    expect(await openSecret(env, passphrase, SECRET_BINDINGS.passphrase(estate.jobId, estate.agent.agentId))).toBe("changed meanwhile");
  });

  it("skips a value no configured key opens, reports it, and still re-seals the others in pages", async () => {
    const { subscriberId } = await subscriberWithWebhook();
    const sealedUnderLostKey = await sealSecret({ ...env, ENCRYPTION_KEY: randomBase64(32) }, "whsec_lost", SECRET_BINDINGS.webhookSecret("x"));
    await db().update(webhooks).set({ sealedSecret: sealedUnderLostKey }).where(eq(webhooks.subscriberId, subscriberId));
    // More than one page of values under key A behind the unreadable one.
    const now = new Date();
    const rows = await Promise.all(
      Array.from({ length: RESEAL_PAGE + 5 }, async (_, i) => {
        const id = `zz-${String(i).padStart(4, "0")}`;
        const sealedSecret = await sealSecret(underKeyA, `whsec_${i}`, SECRET_BINDINGS.webhookSecret(id));
        return { id, subscriberId, url: "https://hooks.example.com/a", events: ["backup.success" as const], sealedSecret, isEnabled: true, createdAt: now, updatedAt: now };
      }),
    );
    for (let i = 0; i < rows.length; i += 10) await db().insert(webhooks).values(rows.slice(i, i + 10));

    const { reseal } = await logsDuring(() => runDailyCron(rotated));
    expect(reseal[0]).toMatchObject({ resealed: RESEAL_PAGE + 5, unreadable: 1, remaining: 1 });
    const [last] = await db().select().from(webhooks).where(eq(webhooks.id, rows[rows.length - 1].id));
    expect(await openSecret(env, last.sealedSecret, SECRET_BINDINGS.webhookSecret(last.id))).toBe(`whsec_${RESEAL_PAGE + 4}`);
    expect(await (await keyStatus()).json()).toMatchObject({ notUnderCurrentKey: { webhooks: 1, total: 1 } });
    await db().delete(webhooks).where(eq(webhooks.sealedSecret, sealedUnderLostKey));
  });
});

describe("GET /api/admin/encryption-key", () => {
  it("names the current key and counts nothing left when nothing was sealed under another key", async () => {
    await subscriberWithWebhook();
    const res = await keyStatus();
    expect(res.status).toBe(200);
    const body = await res.json<{ currentKeyId: string }>();
    expect(body).toEqual({
      currentKeyId: expect.stringMatching(/^[0-9a-f]{12}$/),
      previousKeyConfigured: false,
      notUnderCurrentKey: { webhooks: 0, credentials: 0, backupJobs: 0, users: 0, total: 0 },
    });
    const [row] = await db().select({ v: webhooks.sealedSecret }).from(webhooks).limit(1);
    expect(row.v.startsWith(`v2.${body.currentKeyId}.`)).toBe(true);
  });

  it("401 without the operator token, or with a subscriber's token", async () => {
    const { token } = await subscriberWithWebhook();
    expect((await api("/api/admin/encryption-key")).status).toBe(401);
    expect((await keyStatus(token)).status).toBe(401);
  });
});
