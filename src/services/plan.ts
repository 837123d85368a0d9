import type { PlanName } from "../db/schema";
import { planLimit } from "../lib/errors";

/** A count limit; `null` means unlimited. */
type Limit = number | null;

export interface PlanLimits {
  requestsPerMinute: number;
  agents: Limit;
  backupJobs: Limit;
  destinations: Limit;
  apiKeys: Limit;
  webhooks: Limit;
  logRetentionDays: number;
  features: { apiKeys: boolean; webhooks: boolean };
}

/** The plan table (README, "Rate limits and plans"). The only place these numbers live: every check and `GET /api/account` read it. */
export const PLAN_LIMITS: Record<PlanName, PlanLimits> = {
  Free: {
    requestsPerMinute: 60,
    agents: 1,
    backupJobs: 3,
    destinations: 2,
    apiKeys: 0,
    webhooks: 0,
    logRetentionDays: 7,
    features: { apiKeys: false, webhooks: false },
  },
  Starter: {
    requestsPerMinute: 120,
    agents: 3,
    backupJobs: 15,
    destinations: 5,
    apiKeys: 0,
    webhooks: 0,
    logRetentionDays: 30,
    features: { apiKeys: false, webhooks: false },
  },
  Professional: {
    requestsPerMinute: 300,
    agents: 10,
    backupJobs: 100,
    destinations: 25,
    apiKeys: 10,
    webhooks: 10,
    logRetentionDays: 90,
    features: { apiKeys: true, webhooks: true },
  },
  Ultimate: {
    requestsPerMinute: 600,
    agents: null,
    backupJobs: null,
    destinations: null,
    apiKeys: 50,
    webhooks: 50,
    logRetentionDays: 365,
    features: { apiKeys: true, webhooks: true },
  },
};

export type CountedResource = "agents" | "backupJobs" | "destinations" | "apiKeys" | "webhooks";
export type PlanFeature = keyof PlanLimits["features"];

/** How the 403 names each limit: singular for a limit of 1 ("at most 1 agent"). */
const RESOURCE_NAMES: Record<CountedResource, [one: string, many: string]> = {
  agents: ["agent", "agents"],
  backupJobs: ["backup job", "backup jobs"],
  destinations: ["destination", "destinations"],
  apiKeys: ["API key", "API keys"],
  webhooks: ["webhook", "webhooks"],
};

const FEATURE_NAMES: Record<PlanFeature, string> = { apiKeys: "API keys", webhooks: "Webhooks" };

/** Professional and Ultimate: the plans that may use API keys and webhooks. */
export function isProfessionalOrAbove(plan: PlanName): boolean {
  return PLAN_LIMITS[plan].features.apiKeys;
}

/** 403 naming the feature when the plan does not include it. */
export function assertPlanFeature(plan: PlanName, feature: PlanFeature): void {
  if (!PLAN_LIMITS[plan].features[feature]) {
    throw planLimit(`${FEATURE_NAMES[feature]} require the Professional or Ultimate plan.`);
  }
}

/** 403 naming the limit when creating one more `resource` would exceed the plan (`current` = how many exist now). */
export function assertWithinPlanLimit(plan: PlanName, resource: CountedResource, current: number): void {
  const limit = PLAN_LIMITS[plan][resource];
  if (limit !== null && current >= limit) {
    const [one, many] = RESOURCE_NAMES[resource];
    throw planLimit(`Plan limit reached: the ${plan} plan allows at most ${limit} ${limit === 1 ? one : many}.`);
  }
}
