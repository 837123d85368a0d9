import { describe, expect, it } from "vitest";
import { api } from "../../helpers";

// This project binds TENANT_RATE_LIMITER to the AgentSession class: the binding exists but is broken.
describe("GET /api/health?deep=1 with a broken Durable Object binding", () => {
  it("answers 503 naming the Durable Object check, while D1 and the queue pass", async () => {
    const res = await api("/api/health?deep=1");
    expect(res.status).toBe(503);
    const body = await res.json<{ status: string; error: string; failed: string[]; checks: Record<string, { ok: boolean; error?: string }> }>();
    expect(body).toMatchObject({ status: "unhealthy", failed: ["durableObject"] });
    expect(body.error).toMatch(/^Unhealthy: durableObject \(TENANT_RATE_LIMITER\): /);
    expect(body.checks.durableObject.ok).toBe(false);
    expect(body.checks.d1.ok).toBe(true);
    expect(body.checks.queue.ok).toBe(true);
  });
});
