import { describe, expect, it } from "vitest";
import { PLAN_LIMITS } from "../../src/services/plan";
import { api, createSubscriber } from "../helpers";
import { createAgent } from "../support/backup";

/** Fires `n` creates at once; the statuses, sorted. Every 403 names the limit. */
async function parallel(n: number, create: (i: number) => Promise<Response>): Promise<number[]> {
  const responses = await Promise.all(Array.from({ length: n }, (_, i) => create(i)));
  for (const res of responses.filter((r) => r.status === 403)) {
    expect((await res.json<{ error: string }>()).error).toMatch(/^Plan limit reached: /);
  }
  return responses.map((r) => r.status).sort();
}

const outcome = (limit: number, n: number) => [...Array(limit).fill(200), ...Array(n - limit).fill(403)];

describe("plan limits hold under parallel creates (the count is taken inside the insert)", () => {
  it("10 parallel destinations on Free: exactly 2 are created", async () => {
    const { token } = await createSubscriber({ plan: "Free" });
    const statuses = await parallel(10, (i) =>
      api("/api/destination", { token, json: { name: `d${i}`, type: "LocalStorage", settings: { path: `/backups/${i}` } } }),
    );
    expect(statuses).toEqual(outcome(PLAN_LIMITS.Free.destinations ?? 0, 10));
    const list = await api("/api/destination", { token });
    expect(await list.json()).toHaveLength(2);
  });

  it("10 parallel backup jobs on Free: exactly 3 are created, with no orphaned links or log entries", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Free" });
    const { agentId, databaseIds } = await createAgent(subscriberId);
    const destination = await api("/api/destination", { token, json: { name: "disk", type: "LocalStorage", settings: { path: "/b" }, agentId } });
    const { destinationId } = await destination.json<{ destinationId: string }>();
    const statuses = await parallel(10, (i) =>
      api("/api/backupjob", {
        token,
        json: { name: `job ${i}`, agentId, databaseIds, destinationIds: [destinationId], schedules: [{ backupMode: "Full", cronExpression: "0 2 * * *" }] },
      }),
    );
    expect(statuses).toEqual(outcome(PLAN_LIMITS.Free.backupJobs ?? 0, 10));
    const jobs = await (await api("/api/backupjob", { token })).json<{ items?: unknown[] } | unknown[]>();
    expect(Array.isArray(jobs) ? jobs : jobs.items).toHaveLength(3);
    const logs = await (await api("/api/log?pageSize=100", { token })).json<{ items?: { message: string }[] } | { message: string }[]>();
    const created = (Array.isArray(logs) ? logs : (logs.items ?? [])).filter((l) => l.message.endsWith("created."));
    expect(created).toHaveLength(3);
  });

  it("15 parallel webhooks and API keys on Professional: exactly 10 of each", async () => {
    const { token } = await createSubscriber({ plan: "Professional" });
    const webhooks = await parallel(15, (i) => api("/api/webhook", { token, json: { url: `https://hooks.example.com/${i}`, events: ["backup.failure"] } }));
    expect(webhooks).toEqual(outcome(10, 15));
    const keys = await parallel(15, (i) => api("/api/apikey", { token, json: { name: `key ${i}` } }));
    expect(keys).toEqual(outcome(10, 15));
    const account = await (await api("/api/account", { token })).json<{ usage: Record<string, number> }>();
    expect(account.usage).toMatchObject({ webhooks: 10, apiKeys: 10 });
  });
});
