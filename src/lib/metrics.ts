/**
 * The metrics stream: one Workers Analytics Engine data point per event, in the dataset bound as `METRICS`
 * (`datasync_metrics` in production; not bound locally, where nothing is written). Every point has the
 * same layout, so one SQL query shape answers every question (docs/deploy.md lists them):
 *   index1 = blob1 = the event name; blob2..blob4 = its dimensions; double1 = a value; double2 = a duration in ms.
 * Dimensions are route patterns, statuses and outcomes: never ids of customers' data or anything personal.
 */
export type MetricEvent =
  /** Every API request: route pattern, method, status; the duration. */
  | { event: "request"; route: string; method: string; status: number; durationMs: number }
  /** A 429: which route, and whether the plan's budget (`plan`) or a public per-IP budget (`ip`) refused it. */
  | { event: "rate_limited"; route: string; budget: "plan" | "ip" }
  /** Sampled every minute by the cron: agents with an open socket, over all subscribers. */
  | { event: "agents_online"; count: number }
  /** A backup run reached its outcome (`Success`, `Failed`); `reason` says why a run failed without its agent. */
  | { event: "backup_run"; outcome: "Success" | "Failed"; backupMode: string; reason?: "agent_report" | "start_timeout" }
  /** One webhook delivery attempt's outcome. */
  | { event: "webhook_delivery"; outcome: "delivered" | "retry" | "exhausted" | "gone" | "refused" | "test_failed" };

interface MetricsEnv {
  METRICS?: AnalyticsEngineDataset;
}

function layout(m: MetricEvent): { blobs: string[]; doubles: number[] } {
  switch (m.event) {
    case "request":
      return { blobs: [m.route, m.method, String(m.status)], doubles: [1, m.durationMs] };
    case "rate_limited":
      return { blobs: [m.route, m.budget], doubles: [1, 0] };
    case "agents_online":
      return { blobs: [], doubles: [m.count, 0] };
    case "backup_run":
      return { blobs: [m.outcome, m.backupMode, m.reason ?? "agent_report"], doubles: [1, 0] };
    case "webhook_delivery":
      return { blobs: [m.outcome], doubles: [1, 0] };
  }
}

/** Records one event; never throws (metrics must not fail the work they describe). */
export function recordMetric(env: MetricsEnv, metric: MetricEvent): void {
  if (!env.METRICS) return;
  const { blobs, doubles } = layout(metric);
  try {
    env.METRICS.writeDataPoint({ indexes: [metric.event], blobs: [metric.event, ...blobs], doubles });
  } catch {
    // Analytics Engine refused the point (e.g. over its per-invocation limit): the metric is lost, not the request.
  }
}
