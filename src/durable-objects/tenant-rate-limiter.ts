import { DurableObject } from "cloudflare:workers";
import { and, eq, gt, isNull } from "drizzle-orm";
import { createDb } from "../db/client";
import { type PlanName, agents, apiKeys, revokedSessions, subscribers, users } from "../db/schema";
import { PLAN_LIMITS, isProfessionalOrAbove } from "../services/plan";
import { MAX_LOG_LENGTH, PLAN_WINDOW_MS, type RateDecision, type RateWindow, decide } from "../services/rate-limit";

/** Who the Worker says is calling, after checking the token's signature or the key's hash. */
export type PresentedToken =
  | { kind: "session"; userId: string; generation: number; sessionId: string }
  | { kind: "apikey"; apiKeyId: string };

/** `lastUsedAt` is written at most this often per key, not on every request. */
export const LAST_USED_GRANULARITY_MS = 60_000;

/** Requests an isolate was lent and did not use: `count` entries of the log at `at` (see services/admission-lease.ts). */
export interface LeaseReturn {
  at: number;
  count: number;
}

export interface AdmitRequest {
  subscriberId: string;
  /** The Worker's injected clock, so tests drive the window without sleeping. */
  now: number;
  principal: PresentedToken;
  /** An agent the request acts on (its path names it): the answer also says whether it is the subscriber's. */
  agentId?: string;
  /** Requests to lend beyond this one, for the isolate's next ones; lent only out of a budget twice as large. */
  spare?: number;
  /** Lent requests the isolate gives back, counted no more. */
  returned?: LeaseReturn[];
}

export type AdmitResult =
  | {
      status: "admitted" | "rate_limited";
      plan: PlanName;
      /** The first granted request's decision; the n-th one's `remaining` is n − 1 lower. */
      decision: RateDecision;
      /** Set at most once a minute per key: the Worker then writes the key's `lastUsedAt`. */
      touchKey: boolean;
      /** Whether the request's `agentId` is one of the subscriber's agents (admitted requests that named one). */
      ownsAgent?: boolean;
      /** Admitted: how many requests were counted (≥ 1), all at the log time `at`. */
      granted: number;
      at: number;
    }
  | { status: "invalid_session" | "invalid_key" | "keys_not_in_plan" };

/** The most an isolate is lent at once: a twentieth of the plan's minute (30 on Ultimate, 3 on Free). */
const MAX_SPARE_SHARE = 1 / 20;

const LOG_KEY = "log";
/** How long a change to the log may stay in memory only. */
const PERSIST_DELAY_MS = 1000;

/** A busy limiter is never evicted, so its cache of D1 is also reloaded after this long. */
const TENANT_STATE_MAX_AGE_MS = 5 * 60_000;

/** What authentication needs from D1, cached here so a warm request reads nothing from D1. */
interface TenantState {
  plan: PlanName;
  sessionGenerations: Map<string, number>;
  /** Sessions ended by a logout (token ids), until the tokens expire. */
  revokedSessions: Set<string>;
  /** Unrevoked keys and when each was last marked used (epoch ms). */
  activeKeys: Map<string, number | null>;
  /** Keys that cannot come back (revocation is final), so a stale isolate cache costs no D1 read. */
  revokedKeys: Set<string>;
  /** The subscriber's agents, so a command to one costs no D1 read for "is it the caller's?". */
  agentIds: Set<string>;
}

/**
 * The subscriber's rate limiter and also its session/key cache: one per subscriber (named by
 * subscriberId), it counts the plan's requests per minute over all its users, tokens and keys, and it is
 * the authority on whether a session or key is still valid and on which agents are the subscriber's (it
 * caches the plan, session generations, keys and agent ids from D1; see TenantState). Being single-threaded, it
 * decides concurrent requests one at a time, so the limit is exact under concurrency too. With a verdict
 * it may lend the isolate a few more requests of the same principal, logged when lent (`spare`, and
 * `returned` when unused: see services/admission-lease.ts).
 *
 * The same class, named `ip:<scope>:<ip>` or `login:<email>`, keeps the public endpoints' per-IP budgets
 * and the login attempts of one email: the same sliding log under another key.
 *
 * Storage: only the log of accepted requests, as one value, written at most once per PERSIST_DELAY_MS
 * (a timer after the first change), never on a rejected request; the tenant state is a cache of D1 and
 * never stored. A write on every request measured 1.35 × instead of 1.13 × health's p50 at 1 connection
 * (the response waits for the write to commit) for no gain: an eviction only follows ≥ 10 s of idleness, long after the
 * write, so it never hands out a fresh budget; only a crash within that second could forget the last
 * second's requests.
 */
export class TenantRateLimiter extends DurableObject<Env> {
  /** Accepted request times, oldest first, at most MAX_LOG_LENGTH of them. */
  private readonly log: number[];
  private persistTimer: ReturnType<typeof setTimeout> | null = null;
  private tenant: { state: Promise<TenantState | null>; loadedAt: number } | null = null;
  /**
   * Deleted agents, kept beside the tenant state rather than in it: a load or look-up that read D1 just
   * before the delete committed must not bring one back. Deletion is final, and these are few.
   */
  private readonly deletedAgentIds = new Set<string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.log = ctx.storage.kv.get<number[]>(LOG_KEY) ?? [];
  }

  /** An authenticated request: is the principal still valid, and is there budget left in the plan? */
  async admit({ subscriberId, now, principal, agentId, spare = 0, returned = [] }: AdmitRequest): Promise<AdmitResult> {
    this.giveBack(returned);
    const tenant = await this.tenantState(subscriberId, now);
    if (!tenant) return { status: principal.kind === "session" ? "invalid_session" : "invalid_key" };
    let touchKey = false;
    if (principal.kind === "session") {
      const generation = await this.sessionGeneration(tenant, subscriberId, principal.userId);
      if (generation !== principal.generation || tenant.revokedSessions.has(principal.sessionId)) return { status: "invalid_session" };
    } else {
      if (!(await this.isActiveKey(tenant, subscriberId, principal.apiKeyId))) return { status: "invalid_key" };
      if (!isProfessionalOrAbove(tenant.plan)) return { status: "keys_not_in_plan" };
      const lastUsed = tenant.activeKeys.get(principal.apiKeyId) ?? null;
      touchKey = lastUsed === null || now - lastUsed >= LAST_USED_GRANULARITY_MS;
    }
    // No await from here on: the check and the append happen as one step.
    const limit = PLAN_LIMITS[tenant.plan].requestsPerMinute;
    const decision = decide(this.log, now, { limit, windowMs: PLAN_WINDOW_MS });
    touchKey &&= decision.allowed;
    if (touchKey && principal.kind === "apikey") tenant.activeKeys.set(principal.apiKeyId, now);
    if (!decision.allowed) return { status: "rate_limited", plan: tenant.plan, decision, touchKey, granted: 0, at: now };
    // `decision` counted this request only; up to half of what is left after it may be lent.
    const lent = Math.max(0, Math.min(spare, Math.ceil(limit * MAX_SPARE_SHARE), Math.floor(decision.remaining / 2)));
    const granted = 1 + lent;
    let at = now;
    for (let i = 0; i < granted; i++) at = this.append(now);
    const ownsAgent = agentId === undefined ? undefined : await this.ownsAgent(tenant, subscriberId, agentId);
    return { status: "admitted", plan: tenant.plan, decision, touchKey, granted, at, ownsAgent };
  }

  /** Drops the cached tenant state; the next request reloads it from D1. Takes back what the caller's isolate was lent. */
  refresh(returned: LeaseReturn[] = []): void {
    this.giveBack(returned);
    this.tenant = null;
  }

  /** The agent was deleted (its D1 row is gone): from the next request on, it is nobody's. */
  forgetAgent(agentId: string): void {
    this.deletedAgentIds.add(agentId);
  }

  /** A rate-limited request (or a reserved login attempt): allowed ones are counted. */
  take(now: number, window: RateWindow): RateDecision {
    return this.count(now, window);
  }

  /** Forgets every counted event (a successful login). Writes only when there is something to forget. */
  clear(): void {
    if (this.log.length === 0) return;
    this.log.length = 0;
    this.schedulePersist();
  }

  /** Writes the log now (the timer calls it; tests call it to stand for the time before an eviction). */
  persist(): void {
    if (this.persistTimer !== null) clearTimeout(this.persistTimer);
    this.persistTimer = null;
    this.ctx.storage.kv.put(LOG_KEY, this.log);
  }

  private count(now: number, window: RateWindow): RateDecision {
    const decision = decide(this.log, now, window);
    if (decision.allowed) this.append(now);
    return decision;
  }

  /** Logs one accepted request; returns the time it was logged at. */
  private append(now: number): number {
    // Clocks of different Worker machines may disagree by a little; keep the log ordered regardless.
    const at = Math.max(now, this.log.at(-1) ?? now);
    this.log.push(at);
    if (this.log.length > MAX_LOG_LENGTH) this.log.shift();
    this.schedulePersist();
    return at;
  }

  /**
   * Unused lent requests stop counting: up to `count` entries logged exactly at `at` are removed (entries
   * of one time are interchangeable, so no other request's entry is ever dropped in their place).
   */
  private giveBack(returned: LeaseReturn[]): void {
    for (const { at, count } of returned) {
      const end = this.log.lastIndexOf(at) + 1;
      let start = end;
      while (start > 0 && end - start < count && this.log[start - 1] === at) start--;
      if (start === end) continue;
      this.log.splice(start, end - start);
      this.schedulePersist();
    }
  }

  private schedulePersist(): void {
    this.persistTimer ??= setTimeout(() => this.persist(), PERSIST_DELAY_MS);
  }

  /**
   * Loaded once per activation, after `refresh`, and at least every TENANT_STATE_MAX_AGE_MS as a safety
   * net for a change whose code forgot to call `refreshTenant`. Concurrent callers share one load.
   */
  private tenantState(subscriberId: string, now: number): Promise<TenantState | null> {
    if (!this.tenant || now - this.tenant.loadedAt >= TENANT_STATE_MAX_AGE_MS) {
      const loading = { state: loadTenantState(this.env, subscriberId, now), loadedAt: now };
      this.tenant = loading;
      loading.state.catch(() => {
        if (this.tenant === loading) this.tenant = null;
      });
    }
    return this.tenant.state;
  }

  /** A user created after the state was loaded is looked up once. */
  private async sessionGeneration(tenant: TenantState, subscriberId: string, userId: string): Promise<number | undefined> {
    const known = tenant.sessionGenerations.get(userId);
    if (known !== undefined) return known;
    const [row] = await createDb(this.env.DB)
      .select({ generation: users.sessionGeneration })
      .from(users)
      .where(and(eq(users.id, userId), eq(users.subscriberId, subscriberId)))
      .limit(1);
    if (row) tenant.sessionGenerations.set(userId, row.generation);
    return row?.generation;
  }

  /** A key created after the state was loaded is looked up once; a revoked one is remembered. */
  private async isActiveKey(tenant: TenantState, subscriberId: string, apiKeyId: string): Promise<boolean> {
    if (tenant.activeKeys.has(apiKeyId)) return true;
    if (tenant.revokedKeys.has(apiKeyId)) return false;
    const [row] = await createDb(this.env.DB)
      .select({ lastUsedAt: apiKeys.lastUsedAt })
      .from(apiKeys)
      .where(and(eq(apiKeys.id, apiKeyId), eq(apiKeys.subscriberId, subscriberId), isNull(apiKeys.revokedAt)))
      .limit(1);
    if (row) tenant.activeKeys.set(apiKeyId, row.lastUsedAt?.getTime() ?? null);
    else tenant.revokedKeys.add(apiKeyId);
    return Boolean(row);
  }

  /**
   * An agent enrolled after the state was loaded is looked up once. An unknown or foreign id is looked up
   * each time (not remembered: guesses must not fill the memory); they cost what they did before.
   */
  private async ownsAgent(tenant: TenantState, subscriberId: string, agentId: string): Promise<boolean> {
    if (this.deletedAgentIds.has(agentId)) return false;
    if (tenant.agentIds.has(agentId)) return true;
    const [row] = await createDb(this.env.DB)
      .select({ id: agents.id })
      .from(agents)
      .where(and(eq(agents.id, agentId), eq(agents.subscriberId, subscriberId)))
      .limit(1);
    if (!row || this.deletedAgentIds.has(agentId)) return false;
    tenant.agentIds.add(agentId);
    return true;
  }
}

/** One D1 round trip: the plan, every user's session generation, the logged-out sessions, the unrevoked keys and the agents. */
async function loadTenantState(env: Env, subscriberId: string, now: number): Promise<TenantState | null> {
  const db = createDb(env.DB);
  const [subscriber, userRows, keyRows, revokedRows, agentRows] = await db.batch([
    db.select({ plan: subscribers.plan }).from(subscribers).where(eq(subscribers.id, subscriberId)).limit(1),
    db.select({ id: users.id, generation: users.sessionGeneration }).from(users).where(eq(users.subscriberId, subscriberId)),
    db
      .select({ id: apiKeys.id, lastUsedAt: apiKeys.lastUsedAt })
      .from(apiKeys)
      .where(and(eq(apiKeys.subscriberId, subscriberId), isNull(apiKeys.revokedAt))),
    db
      .select({ sessionId: revokedSessions.sessionId })
      .from(revokedSessions)
      .where(and(eq(revokedSessions.subscriberId, subscriberId), gt(revokedSessions.expiresAt, new Date(now)))),
    db.select({ id: agents.id }).from(agents).where(eq(agents.subscriberId, subscriberId)),
  ]);
  if (!subscriber[0]) return null;
  return {
    plan: subscriber[0].plan,
    sessionGenerations: new Map(userRows.map((u) => [u.id, u.generation])),
    revokedSessions: new Set(revokedRows.map((r) => r.sessionId)),
    activeKeys: new Map(keyRows.map((k) => [k.id, k.lastUsedAt?.getTime() ?? null])),
    revokedKeys: new Set(),
    agentIds: new Set(agentRows.map((a) => a.id)),
  };
}
