import { clock } from "../lib/clock";

/**
 * The deep health check behind `GET /api/health?deep=1`, for uptime monitors: one real call to each
 * kind of resource the Worker depends on. Each check has its own timeout, so a hung binding is reported
 * as failed instead of hanging the monitor.
 */

export type HealthComponent = "d1" | "durableObject" | "queue";

export interface CheckResult {
  ok: boolean;
  binding: string;
  latencyMs: number;
  /** The newest migration applied to D1, so a deploy whose migrations were not applied shows. */
  migration?: string;
  error?: string;
}

export interface DeepHealth {
  ok: boolean;
  failed: HealthComponent[];
  checks: Record<HealthComponent, CheckResult>;
}

/** The body of the queue message the check sends; the webhook consumer acks it and does nothing else. */
export const QUEUE_PROBE = { probe: "health" } as const;

export function isQueueProbe(body: unknown): boolean {
  return typeof body === "object" && body !== null && (body as { probe?: unknown }).probe === QUEUE_PROBE.probe;
}

const CHECK_TIMEOUT_MS = 5_000;
/** A deep check sends a queue message: one per isolate per this long, however often it is asked. */
const CACHE_MS = 10_000;

async function timed(binding: string, check: () => Promise<Partial<CheckResult> | void>): Promise<CheckResult> {
  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
  });
  try {
    const extra = await Promise.race([check(), timeout]);
    return { ok: true, binding, latencyMs: latencyMs(), ...extra };
  } catch (err) {
    return { ok: false, binding, latencyMs: latencyMs(), error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

function requireBinding<T>(value: T | undefined, name: string): T {
  if (value === undefined || value === null) throw new Error(`binding ${name} is missing`);
  return value;
}

async function runChecks(env: Env): Promise<DeepHealth> {
  const [d1, durableObject, queue] = await Promise.all([
    timed("DB", async () => {
      // wrangler records applied migrations in d1_migrations: an empty database has no such table.
      const row = await requireBinding(env.DB, "DB")
        .prepare("select name from d1_migrations order by id desc limit 1")
        .first<{ name: string }>();
      if (!row) throw new Error("no migration has been applied");
      return { migration: row.name };
    }),
    timed("TENANT_RATE_LIMITER", async () => {
      // A budget check on an instance of its own, with a limit no monitor reaches: no tenant's budget is touched.
      await requireBinding(env.TENANT_RATE_LIMITER, "TENANT_RATE_LIMITER")
        .getByName("health-check")
        .take(clock.nowMs(), { limit: 1_000_000, windowMs: 1_000 });
    }),
    timed("WEBHOOK_QUEUE", async () => {
      await requireBinding(env.WEBHOOK_QUEUE, "WEBHOOK_QUEUE").send(QUEUE_PROBE, { contentType: "json" });
    }),
  ]);
  const checks = { d1, durableObject, queue };
  const failed = (Object.keys(checks) as HealthComponent[]).filter((name) => !checks[name].ok);
  return { ok: failed.length === 0, failed, checks };
}

let cached: { at: number; result: Promise<DeepHealth> } | null = null;

/** Runs the checks, or answers the result of a run less than CACHE_MS old in this isolate. */
export function deepHealth(env: Env): Promise<DeepHealth> {
  const now = clock.nowMs();
  if (!cached || now - cached.at >= CACHE_MS) cached = { at: now, result: runChecks(env) };
  return cached.result;
}
