import { describe, expect, it } from "vitest";
import { api } from "../../helpers";

// This project's D1 never had `wrangler d1 migrations apply` run: a deploy that skipped that step.
describe("GET /api/health?deep=1 with an unmigrated database", () => {
  it("answers 503 naming the D1 check, while the Durable Object and the queue pass", async () => {
    const res = await api("/api/health?deep=1");
    expect(res.status).toBe(503);
    const body = await res.json<{ status: string; error: string; failed: string[]; checks: Record<string, { ok: boolean; error?: string }> }>();
    expect(body.status).toBe("unhealthy");
    expect(body.failed).toEqual(["d1"]);
    expect(body.error).toMatch(/^Unhealthy: d1 \(DB\): .*d1_migrations/);
    expect(body.checks.d1).toMatchObject({ ok: false, error: expect.stringContaining("d1_migrations") });
    expect(body.checks.durableObject.ok).toBe(true);
    expect(body.checks.queue.ok).toBe(true);
  });

  it("the plain readiness check does not look at the schema and still answers 200", async () => {
    expect((await api("/api/health")).status).toBe(200);
  });
});
