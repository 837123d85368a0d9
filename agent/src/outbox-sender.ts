import { AGENT_BUDGET } from "../../src/protocol/agent-protocol.ts";
import type { OutboxEntry } from "./state.ts";

/** Below the platform's own figures, so clocks that differ a little never make it refuse a frame. */
export const BUDGET_MARGIN = 0.9;
/** After an over-budget refusal the outbox pauses this long, doubling while refusals continue. */
const FIRST_PAUSE_MS = 1_000;
const MAX_PAUSE_MS = 60_000;

/** A token bucket like the platform's (AGENT_BUDGET): a burst, then a steady refill. */
export class TokenBucket {
  private readonly burst: number;
  private readonly perMs: number;
  private tokens: number;
  private refilledAt: number;
  constructor(burst: number, perMs: number, now: number) {
    this.burst = burst;
    this.perMs = perMs;
    this.tokens = burst;
    this.refilledAt = now;
  }
  /** Refilled to `now`; 0 when a token is there, else how long until one is. */
  waitMs(now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) * this.perMs);
    this.refilledAt = now;
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs);
  }
  take(): void {
    this.tokens -= 1;
  }
}

export interface OutboxSenderOptions {
  /** The outbox, oldest first. */
  pending(): OutboxEntry[];
  /** Sends one frame on the socket; false when it is not connected. */
  send(frame: object): boolean;
  now?(): number;
}

/**
 * Sends the outbox within the platform's budget for one agent (AGENT_BUDGET: frames, and log rows),
 * in order. A backlog from a long outage then drains at the rate the platform takes it, instead of
 * most of it being refused (and the socket closed past 120 refusals a minute), and whatever the
 * platform still refuses as over budget is sent again on this connection after a pause, not only on
 * the next one. A frame refused for another reason stays in flight: it goes again with the next
 * connection, as before (the agent counts those refusals and gives up after a few).
 */
export class OutboxSender {
  private readonly options: OutboxSenderOptions;
  private readonly now: () => number;
  private readonly frames: TokenBucket;
  private readonly logRows: TokenBucket;
  /** Sent on this connection and not yet acked or refused. */
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private pausedUntil = 0;
  private pauseMs = FIRST_PAUSE_MS;

  constructor(options: OutboxSenderOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    const now = this.now();
    this.frames = new TokenBucket(AGENT_BUDGET.frameBurst * BUDGET_MARGIN, (AGENT_BUDGET.framesPerSecond * BUDGET_MARGIN) / 1000, now);
    this.logRows = new TokenBucket(AGENT_BUDGET.logRowBurst * BUDGET_MARGIN, (AGENT_BUDGET.logRowsPerMinute * BUDGET_MARGIN) / 60_000, now);
  }

  /** A new connection: the whole outbox goes again (the platform drops what it already has by id). */
  connected(): void {
    this.inFlight.clear();
    this.drain();
  }

  acknowledged(id: string): void {
    this.inFlight.delete(id);
    this.pauseMs = FIRST_PAUSE_MS;
  }

  /** Refused as over budget: the platform's bucket is emptier than ours; pause, then send it again. */
  refusedOverBudget(id: string): void {
    // Sent again, so it is no longer in flight; what follows it waits behind it, keeping the order.
    this.inFlight.delete(id);
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + this.pauseMs);
    this.pauseMs = Math.min(MAX_PAUSE_MS, this.pauseMs * 2);
    this.schedule(this.pausedUntil - this.now());
  }

  /** Sends what the budget allows, oldest first; the rest when the budget has refilled. */
  drain(): void {
    const now = this.now();
    if (now < this.pausedUntil) return this.schedule(this.pausedUntil - now);
    for (const entry of this.options.pending()) {
      if (this.inFlight.has(entry.id)) continue;
      const frame = JSON.parse(entry.frame) as { type: string };
      const wait = Math.max(this.frames.waitMs(now), frame.type === "log" ? this.logRows.waitMs(now) : 0);
      if (wait > 0) return this.schedule(wait);
      if (!this.options.send(frame)) return;
      this.frames.take();
      if (frame.type === "log") this.logRows.take();
      this.inFlight.add(entry.id);
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, ms);
    this.timer.unref();
  }
}
