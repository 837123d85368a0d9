import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { QUEUE_PROBE } from "../../src/services/health";
import { consumeWebhookDeliveries } from "../../src/services/webhook-consumers";
import { WEBHOOK_QUEUE_NAME } from "../../src/services/webhook-queue";
import { api } from "../helpers";

describe("GET /api/health?deep=1 under the production configuration", () => {
  it("answers 200 with each check passed, the applied migration and no caching", async () => {
    const res = await api("/api/health?deep=1");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.json<{ status: string; checks: Record<string, { ok: boolean; binding: string; migration?: string }> }>();
    expect(body.status).toBe("ok");
    expect(body.checks).toMatchObject({
      d1: { ok: true, binding: "DB", migration: expect.stringMatching(/^\d{4}_.+\.sql$/) },
      durableObject: { ok: true, binding: "TENANT_RATE_LIMITER" },
      queue: { ok: true, binding: "WEBHOOK_QUEUE" },
    });
  });

  it("without deep, stays the one-query readiness check", async () => {
    const res = await api("/api/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("refuses an unknown deep value with a 400", async () => {
    const res = await api("/api/health?deep=yes");
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "validation_failed" });
  });
});

describe("the deep check's queue probe", () => {
  it("is acked by the webhook consumer without a delivery or an error line", async () => {
    const error = vi.spyOn(console, "error");
    const batch = createMessageBatch(WEBHOOK_QUEUE_NAME, [{ id: "probe-1", timestamp: new Date(), attempts: 1, body: QUEUE_PROBE }]);
    const ctx = createExecutionContext();
    await consumeWebhookDeliveries(batch, env, () => {
      throw new Error("a probe must not be delivered anywhere");
    });
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["probe-1"]);
    expect(error).not.toHaveBeenCalled();
    error.mockRestore();
  });
});
