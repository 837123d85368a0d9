import type { PlanName } from "../db/schema";

/** Professional and Ultimate: the plans that may use API keys and webhooks. */
export function isProfessionalOrAbove(plan: PlanName): boolean {
  return plan === "Professional" || plan === "Ultimate";
}
