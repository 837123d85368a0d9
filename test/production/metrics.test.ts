import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { agents } from "../../src/db/schema";
import { CRON, scheduled } from "../../src/scheduled";
import { api, createSubscriber, db } from "../helpers";
import { receiver, recordEvent, runConsumer, subscriberWithWebhook } from "../support/webhook";

afterEach(() => vi.restoreAllMocks());

/** The data points written to the METRICS dataset (Analytics Engine keeps nothing locally: watch the binding). */
function watchMetrics() {
  const points: AnalyticsEngineDataPoint[] = [];
  // Bound in production (wrangler.toml); optional in the Env type because local development has none.
  vi.spyOn(env.METRICS!, "writeDataPoint").mockImplementation((point?: AnalyticsEngineDataPoint) => void points.push(point!));
  return points;
}

describe("metrics under the production configuration", () => {
  it("writes one request point per request: route pattern, method, status and duration", async () => {
    const points = watchMetrics();
    const { token } = await createSubscriber();
    expect((await api("/api/backupjob/00000000-0000-4000-8000-000000000000", { token })).status).toBe(404);
    // The response check's own first read of the OpenAPI document is a request too.
    expect(points.filter((p) => p.blobs?.[1] !== "/api/openapi.json")).toEqual([
      { indexes: ["request"], blobs: ["request", "/api/backupjob/:id", "GET", "404"], doubles: [1, expect.any(Number)] },
    ]);
  });

  it("counts a 429 as a refusal of the plan's budget", async () => {
    const { token } = await createSubscriber({ plan: "Free" });
    const points = watchMetrics();
    let status = 200;
    for (let i = 0; i < 70 && status !== 429; i++) status = (await api("/api/account", { token })).status;
    expect(status).toBe(429);
    expect(points.filter((p) => p.blobs?.[0] === "rate_limited")).toEqual([
      { indexes: ["rate_limited"], blobs: ["rate_limited", "/api/account", "plan"], doubles: [1, 0] },
    ]);
  });

  it("samples the agents online every minute", async () => {
    const { subscriberId } = await createSubscriber();
    const now = new Date();
    const agent = (hostname: string, isOnline: boolean) => ({ id: crypto.randomUUID(), subscriberId, hostname, operatingSystem: "Linux", version: "1.0.0", tokenHash: crypto.randomUUID(), isOnline, createdAt: now });
    await db().insert(agents).values([agent("a", true), agent("b", true), agent("c", false)]);
    const points = watchMetrics();
    await scheduled({ cron: CRON.everyMinute, scheduledTime: now.getTime(), noRetry() {} } as ScheduledController, env);
    expect(points).toContainEqual({ indexes: ["agents_online"], blobs: ["agents_online"], doubles: [2, 0] });
  });

  it("counts webhook delivery attempts by outcome", async () => {
    const { subscriberId } = await subscriberWithWebhook();
    const ok = await recordEvent(subscriberId, "backup.success");
    const failing = await recordEvent(subscriberId, "backup.failure");
    const points = watchMetrics();
    await runConsumer([ok.deliveries[0].id], receiver().fetchFn);
    await runConsumer([failing.deliveries[0].id], receiver(() => new Response("down", { status: 503 })).fetchFn);
    expect(points.map((p) => p.blobs)).toEqual([
      ["webhook_delivery", "delivered"],
      ["webhook_delivery", "retry"],
    ]);
  });
});
