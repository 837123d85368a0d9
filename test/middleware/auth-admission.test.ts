import { env } from "cloudflare:workers";
import { count, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { gateOnAdmission } from "../../src/db/admission-gate";
import { destinations, users } from "../../src/db/schema";
import { ApiError } from "../../src/lib/errors";
import { PLAN_LIMITS } from "../../src/services/plan";
import { refreshTenant } from "../../src/services/rate-limit";
import { api, createSubscriber, db } from "../helpers";
import { createDestination } from "../support/backup";
import { T0, time } from "../support/manual-clock";

const destinationCount = async (subscriberId: string) =>
  (await db().select({ n: count() }).from(destinations).where(eq(destinations.subscriberId, subscriberId)))[0].n;

/** The tests that spend a whole budget make 60 requests: more than the default 5 s on a loaded machine. */
const SPENDS_BUDGET_TIMEOUT_MS = 30_000;

/** Spends what is left of the Free plan's budget for this minute (frozen clock). */
async function spendBudget(token: string) {
  for (let i = 0; i <= PLAN_LIMITS.Free.requestsPerMinute; i++) if ((await api("/api/account", { token })).status === 429) return;
  throw new Error("the budget was never spent");
}

function deferred() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

describe("reads run beside the limiter's decision", () => {
  it("a list over the plan's limit is 429 with no row and no total of the dropped read", async () => {
    time.freezeAt(T0);
    const { token, subscriberId } = await createSubscriber();
    await createDestination(token);
    await spendBudget(token);
    const refused = await api("/api/backupjob", { token });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ code: "rate_limited" });
    expect(refused.headers.get("x-total-count")).toBeNull();
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    // The next refusal waits for the limiter before reading (this isolate knows the budget is spent).
    expect((await api("/api/destination", { token })).status).toBe(429);
    time.now = T0 + 60_000;
    const list = await api("/api/destination", { token });
    expect(list.status).toBe(200);
    expect(await list.json()).toHaveLength(1);
    expect(await destinationCount(subscriberId)).toBe(1);
  }, SPENDS_BUDGET_TIMEOUT_MS);

  it("a session revoked since its token was issued reads nothing: 401", async () => {
    const { token, subscriberId, userId } = await createSubscriber();
    await createDestination(token);
    await db().update(users).set({ sessionGeneration: 1 }).where(eq(users.id, userId));
    await refreshTenant(env, subscriberId);
    const res = await api("/api/backupjob", { token });
    expect(res.status).toBe(401);
    expect(res.headers.get("x-total-count")).toBeNull();
    expect(await res.json()).toMatchObject({ error: "Invalid or expired token." });
  });

  it("a write refused for the rate limit stores nothing", async () => {
    time.freezeAt(T0);
    const { token, subscriberId } = await createSubscriber();
    await spendBudget(token);
    const res = await api("/api/destination", { token, json: { name: "late", type: "LocalStorage", settings: { path: "/x" } } });
    expect(res.status).toBe(429);
    expect(await destinationCount(subscriberId)).toBe(0);
  }, SPENDS_BUDGET_TIMEOUT_MS);

  it("an admitted list answers as before, with its rate headers and total", async () => {
    const { token } = await createSubscriber();
    await createDestination(token);
    const res = await api("/api/destination", { token });
    expect(res.status).toBe(200);
    expect(await res.json()).toHaveLength(1);
    expect((await api("/api/backupjob", { token })).headers.get("x-total-count")).toBe("0");
    expect(res.headers.get("ratelimit-limit")).toBe(String(PLAN_LIMITS.Free.requestsPerMinute));
  });
});

describe("the admission gate on D1", () => {
  it("a write starts only once the request is admitted; a read's result waits for it too", async () => {
    const { subscriberId } = await createSubscriber();
    const admission = deferred();
    const gated = createDb(gateOnAdmission(env.DB, admission.promise));
    let readDone = false;
    const read = gated.select({ n: count() }).from(destinations).where(eq(destinations.subscriberId, subscriberId)).then((rows) => {
      readDone = true;
      return rows;
    });
    const write = gated.insert(destinations).values({ id: crypto.randomUUID(), subscriberId, name: "gated", type: "LocalStorage", settings: { path: "/x" }, createdAt: new Date(), updatedAt: new Date() });
    const pendingWrite = write.then(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(readDone).toBe(false);
    expect(await destinationCount(subscriberId)).toBe(0);
    admission.resolve();
    await pendingWrite;
    expect((await read)[0].n).toBe(0); // started before the write
    expect(await destinationCount(subscriberId)).toBe(1);
  });

  it("refused: every read and write rejects with the refusal and nothing is written, batches included", async () => {
    const { subscriberId } = await createSubscriber();
    const admission = deferred();
    const gated = createDb(gateOnAdmission(env.DB, admission.promise));
    const row = (name: string) => ({ id: crypto.randomUUID(), subscriberId, name, type: "LocalStorage" as const, settings: { path: "/x" }, createdAt: new Date(), updatedAt: new Date() });
    const attempts = [
      gated.select().from(destinations).where(eq(destinations.subscriberId, subscriberId)),
      gated.insert(destinations).values(row("one")),
      gated.batch([gated.insert(destinations).values(row("two")), gated.select().from(destinations)]),
      gated.update(destinations).set({ name: "renamed" }).where(eq(destinations.subscriberId, subscriberId)),
    ].map((q) => Promise.resolve(q).then(() => "ran", (err) => err));
    admission.reject(new ApiError("rate_limited", "Rate limit exceeded."));
    // Drizzle wraps what the statement rejected with; the error handler unwraps it.
    for (const outcome of await Promise.all(attempts)) expect((outcome as Error).cause ?? outcome).toMatchObject({ code: "rate_limited" });
    expect(await destinationCount(subscriberId)).toBe(0);
  });
});
