import { describe, expect, it } from "vitest";
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
