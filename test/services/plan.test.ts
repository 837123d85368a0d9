import { describe, expect, it } from "vitest";
import { PLANS } from "../../src/db/schema";
import { ApiError } from "../../src/lib/errors";
import { type CountedResource, PLAN_LIMITS, assertPlanFeature, assertWithinPlanLimit } from "../../src/services/plan";
import { api, createSubscriber } from "../helpers";

// The plan table of API.md, spelled out once here so a change to PLAN_LIMITS is a deliberate one.
const DOCUMENTED = {
  Free: { requestsPerMinute: 60, agents: 1, backupJobs: 3, destinations: 2, apiKeys: 0, webhooks: 0, logRetentionDays: 7 },
  Starter: { requestsPerMinute: 120, agents: 3, backupJobs: 15, destinations: 5, apiKeys: 0, webhooks: 0, logRetentionDays: 30 },
  Professional: { requestsPerMinute: 300, agents: 10, backupJobs: 100, destinations: 25, apiKeys: 10, webhooks: 10, logRetentionDays: 90 },
  Ultimate: { requestsPerMinute: 600, agents: null, backupJobs: null, destinations: null, apiKeys: 50, webhooks: 50, logRetentionDays: 365 },
};

function thrown(fn: () => void): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected an ApiError");
}

describe("the plan table", () => {
  it.each(PLANS)("%s matches API.md; keys and webhooks are Professional+", (plan) => {
    const { features, ...limits } = PLAN_LIMITS[plan];
    expect(limits).toEqual(DOCUMENTED[plan]);
    const professionalOrAbove = plan === "Professional" || plan === "Ultimate";
    expect(features).toEqual({ apiKeys: professionalOrAbove, webhooks: professionalOrAbove });
  });

  it.each([
    ["Free", "agents", 1, "Plan limit reached: the Free plan allows at most 1 agent."],
    ["Starter", "agents", 3, "Plan limit reached: the Starter plan allows at most 3 agents."],
    ["Free", "backupJobs", 3, "Plan limit reached: the Free plan allows at most 3 backup jobs."],
    ["Starter", "destinations", 5, "Plan limit reached: the Starter plan allows at most 5 destinations."],
    ["Professional", "apiKeys", 10, "Plan limit reached: the Professional plan allows at most 10 API keys."],
    ["Ultimate", "webhooks", 50, "Plan limit reached: the Ultimate plan allows at most 50 webhooks."],
  ] as const)("%s %s: the create beyond %i is a 403 naming the limit", (plan, resource: CountedResource, limit, message) => {
    expect(() => assertWithinPlanLimit(plan, resource, limit - 1)).not.toThrow();
    const err = thrown(() => assertWithinPlanLimit(plan, resource, limit));
    expect(err.status).toBe(403);
    expect(err.code).toBe("plan_limit");
    expect(err.message).toBe(message);
  });

  it("unlimited means unlimited", () => {
    for (const resource of ["agents", "backupJobs", "destinations"] as const) {
      expect(() => assertWithinPlanLimit("Ultimate", resource, 1_000_000)).not.toThrow();
    }
  });

  it("a Professional+ feature on a lower plan is a 403 naming the feature", () => {
    for (const plan of ["Free", "Starter"] as const) {
      expect(thrown(() => assertPlanFeature(plan, "webhooks")).message).toBe("Webhooks require the Professional or Ultimate plan.");
      expect(thrown(() => assertPlanFeature(plan, "apiKeys"))).toMatchObject({ status: 403, code: "plan_limit" });
    }
    expect(() => assertPlanFeature("Professional", "webhooks")).not.toThrow();
  });
});

describe("GET /api/account reports the plan's limits", () => {
  it.each(PLANS)("%s", async (plan) => {
    const { token } = await createSubscriber({ plan });
    const res = await api("/api/account", { token });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-limit")).toBe(String(PLAN_LIMITS[plan].requestsPerMinute));
    const body = await res.json<{ plan: string; limits: unknown; usage: Record<string, number> }>();
    expect(body.plan).toBe(plan);
    expect(body.limits).toEqual(DOCUMENTED[plan]);
    expect(body.usage).toEqual({ agents: 0, backupJobs: 0, destinations: 0, apiKeys: 0, webhooks: 0 });
  });
});
