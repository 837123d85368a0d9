import { DurableObject } from "cloudflare:workers";
import { createDb } from "../db/client";
import { tenantDb } from "../db/tenant";
import { clock } from "../lib/clock";
import { AGENT_REVOKED_MESSAGE } from "../lib/errors";
import { errorText, log } from "../lib/log";
import { isoUtc } from "../lib/time";
import {
  AGENT_BUDGET,
  type AgentCommand,
  type AgentFrame,
  CLOSE_CODES,
  MAX_BAD_FRAMES_PER_MINUTE,
  OVER_BUDGET_ERROR,
  PING_FRAME,
  PONG_FRAME,
  PROTOCOL_VERSION,
  SILENCE_TIMEOUT_MS,
  type ServerFrame,
  parseAgentFrame,
} from "../protocol/agent-protocol";
import { publishEvents } from "../services/event";
import { AGENT_IDENTITY_HEADER, type AgentIdentity, describeAgent, recordPresence, touchAgent, updateAgentFacts } from "../services/agent";
import { type BackupReportOutcome, applyBackupReport } from "../services/backup-report";
import type { ServiceContext } from "../services/context";
import { markFilesDeleted } from "../services/backup-file";
import { applyInventory } from "../services/database";
import { liveRunEvent, publishLive } from "../services/live-feed";
import { platformLogInsert, recordAgentLog } from "../services/log";
import { SECRET_BINDINGS, currentSealPrefix, isSealed, openSecret, resealUnderCurrentKey, sealSecret } from "../services/secret";
import { applyRestoreReport, applyVerifyReport } from "../services/restore-report";

/** How long applied message ids are remembered: far longer than an agent keeps an unacknowledged message. */
export const APPLIED_ID_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Ids forgotten per connect or alarm (every 90 s while connected): ample for any agent's message rate. */
const APPLIED_ID_PURGE_LIMIT = 5000;
const BAD_FRAME_WINDOW_MS = 60_000;
/** How often a connected agent's `lastSeenUtc` is refreshed in D1: a write per agent per alarm would not scale. */
const LAST_SEEN_REFRESH_MS = 10 * 60 * 1000;

/**
 * The agent's budget (AGENT_BUDGET), kept in the session's storage rather than on the socket, so a
 * reconnect does not refill it. Tokens and times from the injected clock, in ms.
 */
interface Budget {
  frames: number;
  logRows: number;
  refilledAt: number;
  refusals: number[];
}

/** Why an inventory is over the caps, or null. */
function inventoryOverCap(engines: { databases: unknown[] }[]): string | null {
  const total = engines.reduce((sum, engine) => sum + engine.databases.length, 0);
  if (engines.length <= AGENT_BUDGET.enginesPerAgent && total <= AGENT_BUDGET.databasesPerAgent && engines.every((e) => e.databases.length <= AGENT_BUDGET.databasesPerEngine)) {
    return null;
  }
  return `${OVER_BUDGET_ERROR} an inventory lists at most ${AGENT_BUDGET.enginesPerAgent} engines, ${AGENT_BUDGET.databasesPerEngine} databases per engine and ${AGENT_BUDGET.databasesPerAgent} in all.`;
}

/** Kept on each socket, so it survives hibernation. Times from the injected clock, in ms. */
interface SocketState {
  connectedAt: number;
  lastFrameAt: number;
  badFrames: number[];
}

interface SessionState extends AgentIdentity {
  /** What D1 was last told: presence changes are recorded (and their events emitted) once. */
  online: boolean;
  /** When `lastSeenUtc` was last written (injected clock, ms). */
  lastSeenWrittenAt?: number;
}

/** The session's tables and indexes, by name, in creation order. */
const SCHEMA: Record<string, string> = {
  commands: `CREATE TABLE IF NOT EXISTS commands (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    supersede_key TEXT,
    body TEXT NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0
  )`,
  commands_supersede_idx: "CREATE INDEX IF NOT EXISTS commands_supersede_idx ON commands (supersede_key) WHERE supersede_key IS NOT NULL",
  applied_messages: "CREATE TABLE IF NOT EXISTS applied_messages (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
  applied_messages_time_idx: "CREATE INDEX IF NOT EXISTS applied_messages_time_idx ON applied_messages (applied_at)",
  session: "CREATE TABLE IF NOT EXISTS session (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
};

/** A queued command as the agent receives it; `json` is the command itself, already serialised. */
const commandFrame = (id: string, seq: number, json: string) => `{"type":"command","id":${JSON.stringify(id)},"seq":${seq},"command":${json}}`;

/**
 * One per agent (named by agentId): holds its WebSocket (Hibernation API, so an idle agent costs no
 * duration: pings are answered by the runtime) and its durable command queue in SQLite.
 */
export class AgentSession extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Agent messages are applied one at a time, in arrival order. */
  private applying: Promise<unknown> = Promise.resolve();
  /** Presence writes go to D1 in order. */
  private presenceWrites: Promise<unknown> = Promise.resolve();
  /**
   * The newest D1 bookmark of this agent's statements: each message's D1 session starts from it, so it
   * reads at least what the agent's earlier messages wrote (read replication). Woken without one: the primary.
   */
  private d1Bookmark: string | null = null;
  /** Commands go out in seq order even though opening a sealed one awaits. */
  private sending: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // Only a read once the tables exist: a CREATE … IF NOT EXISTS counts as a write even when it changes
    // nothing, and the output gate holds everything the object sends until its writes are committed,
    // so every wake from hibernation would wait for a commit before its first push.
    const existing = new Set(this.sql.exec<{ name: string }>("SELECT name FROM sqlite_master").toArray().map((row) => row.name));
    const missing = Object.entries(SCHEMA).filter(([name]) => !existing.has(name));
    if (missing.length > 0) this.sql.exec(missing.map(([, ddl]) => ddl).join(";\n"));
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
  }

  // -------------------------------------------------------------------------------------------------
  // RPC

  /**
   * Stores a command in the queue (durable when this returns) and sends it if the agent is connected.
   * Callers go through `sendAgentCommand`, which validates the command.
   */
  async enqueue(command: AgentCommand): Promise<{ id: string; seq: number }> {
    const id = crypto.randomUUID();
    // Nobody will ever fetch a deleted agent's commands: keep no secret for it.
    if (this.isRevoked()) return { id, seq: 0 };
    const json = JSON.stringify(command);
    const body = await this.storedBody(id, command, json);
    // A whole-job upsert makes an older one the agent has not received yet pointless.
    const supersedeKey = command.type === "job.upsert" ? `job:${command.job.backupJobId}` : null;
    // In the send chain, after any replay of older commands still opening their secrets: seq order holds.
    const queued = this.sending.then(() => {
      const seq = this.nextSeq();
      // Pushed before it is stored, so the push does not wait for the commit: a send made while a write is
      // pending is held by the output gate until that write is durable. The caller still hears back only
      // once the command is stored (the answer to this call waits for the commit), so a command is never
      // lost; should that commit fail, the agent may already have applied a command whose API call then
      // failed, which is why agents apply commands idempotently by id.
      const socket = this.currentSocket();
      socket?.send(commandFrame(id, seq, json));
      if (supersedeKey) this.sql.exec("DELETE FROM commands WHERE supersede_key = ? AND sent = 0", supersedeKey);
      this.sql.exec("INSERT INTO commands (seq, id, supersede_key, body, sent) VALUES (?, ?, ?, ?, ?)", seq, id, supersedeKey, body, socket ? 1 : 0);
      return { id, seq };
    });
    this.sending = queued.catch(() => undefined); // the caller gets the error
    return queued;
  }

  /** The seq the next command gets: AUTOINCREMENT's counter, which never goes back, even once the queue is empty. */
  private nextSeq(): number {
    const row = this.sql.exec<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'commands'").toArray()[0];
    return (row?.seq ?? 0) + 1;
  }

  /**
   * A command carrying a secret (credential fields, a passphrase) is stored sealed, bound to its row's
   * id, and opened only to be sent: an agent offline for months does not leave secrets in plain text.
   */
  private async storedBody(id: string, command: AgentCommand, json: string): Promise<string> {
    const secret = command.type === "credential.upsert" || (command.type === "job.upsert" && command.job.encryption.passphrase);
    return secret ? sealSecret(this.env, json, SECRET_BINDINGS.agentCommand(id)) : json;
  }

  /**
   * After an `ENCRYPTION_KEY` rotation: seals the queued commands sealed under another key again under the
   * current one, so they still open once `ENCRYPTION_KEY_PREVIOUS` is removed. Called by the daily re-seal
   * for an offline agent and at each alarm of a connected one. An ack or a newer upsert that removes a
   * command meanwhile wins (the write matches the body that was read).
   */
  async resealQueue(): Promise<{ resealed: number; unreadable: number }> {
    const prefix = await currentSealPrefix(this.env);
    const rows = this.sql
      .exec<{ id: string; body: string }>("SELECT id, body FROM commands WHERE substr(body, 1, 3) IN ('v1.', 'v2.') AND substr(body, 1, ?) <> ?", prefix.length, prefix)
      .toArray();
    const outcome = { resealed: 0, unreadable: 0 };
    for (const row of rows) {
      try {
        const fresh = await resealUnderCurrentKey(this.env, row.body, SECRET_BINDINGS.agentCommand(row.id));
        outcome.resealed += this.sql.exec("UPDATE commands SET body = ? WHERE id = ? AND body = ? RETURNING id", fresh, row.id, row.body).toArray().length;
      } catch {
        outcome.unreadable++;
      }
    }
    return outcome;
  }

  /**
   * The agent was deleted: tell a connected agent, close with 4001, forget its queue and state, and
   * remember the revocation, so an upgrade the Worker authenticated just before the delete is refused.
   * An agent that is offline now learns it from its next connect (401 `agent_revoked`, see the Worker).
   */
  async revoke(): Promise<void> {
    await this.enqueue({ type: "agent.revoked" });
    for (const socket of this.ctx.getWebSockets()) {
      if (socket.readyState === WebSocket.OPEN) socket.close(CLOSE_CODES.revoked, "Agent deleted.");
    }
    this.sql.exec("DELETE FROM commands; DELETE FROM applied_messages; DELETE FROM session;");
    this.sql.exec("INSERT INTO session (key, value) VALUES ('revoked', 'true')");
    await this.ctx.storage.deleteAlarm();
  }

  private isRevoked(): boolean {
    return this.sql.exec("SELECT 1 FROM session WHERE key = 'revoked'").toArray().length > 0;
  }

  // -------------------------------------------------------------------------------------------------
  // Socket lifecycle

  async fetch(request: Request): Promise<Response> {
    const header = request.headers.get(AGENT_IDENTITY_HEADER);
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket" || !header) {
      return new Response("Expected an agent WebSocket upgrade.", { status: 426 });
    }
    if (this.isRevoked()) {
      return Response.json({ error: AGENT_REVOKED_MESSAGE, code: "agent_revoked" }, { status: 401, headers: { "WWW-Authenticate": "Bearer" } });
    }
    const identity = JSON.parse(header) as AgentIdentity;
    const previous = this.session();
    this.saveSession({ ...previous, ...identity, online: previous?.online ?? false });

    // A newer connection replaces the older one.
    for (const old of this.ctx.getWebSockets()) {
      if (old.readyState === WebSocket.OPEN) old.close(CLOSE_CODES.replaced, "Replaced by a newer connection.");
    }

    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    const now = clock.nowMs();
    server.serializeAttachment({ connectedAt: now, lastFrameAt: now, badFrames: [] } satisfies SocketState);
    this.send(server, { type: "welcome", agentId: identity.agentId, protocolVersion: PROTOCOL_VERSION, serverTime: isoUtc(clock.now()) });
    await this.sendQueuedCommands(server);

    this.forgetOldMessageIds(now);
    await this.ctx.storage.setAlarm(Date.now() + SILENCE_TIMEOUT_MS);
    await this.setPresence(true);
    return new Response(null, { status: 101, webSocket: client });
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Frames still in flight when we closed the socket (replaced, too many bad frames) are dropped.
    if (ws.readyState !== WebSocket.OPEN) return;
    const state = ws.deserializeAttachment() as SocketState;
    state.lastFrameAt = clock.nowMs();
    const parsed = parseAgentFrame(message);
    if (!parsed.ok) {
      this.refuse(ws, state, parsed.id, parsed.error);
      return;
    }
    ws.serializeAttachment(state);
    const frame = parsed.frame;
    if (frame.type !== "ping" && frame.type !== "ack") {
      const overBudget = this.spendBudget(frame, state.lastFrameAt);
      if (overBudget) return this.refuseOverBudget(ws, frame.id, overBudget);
    }
    switch (frame.type) {
      case "ping":
        // A ping that is not byte-for-byte PING_FRAME reaches us instead of the auto-response.
        ws.send(PONG_FRAME);
        return;
      case "ack":
        this.sql.exec("DELETE FROM commands WHERE id = ?", frame.id);
        return;
      default:
        await this.applyOnce(ws, frame);
    }
  }

  async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // Complete the closing handshake; codes the agent may not send back (1005, 1006) become 1000.
    if (ws.readyState !== WebSocket.CLOSED) ws.close(code >= 3000 || code === 1000 || code === 1001 ? code : 1000, "Closed.");
    await this.socketGone(ws);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    await this.socketGone(ws);
  }

  /** Fires `SILENCE_TIMEOUT_MS` after the last sign of life; rescheduled while the agent keeps talking. */
  async alarm(): Promise<void> {
    const socket = this.currentSocket();
    if (!socket) {
      await this.setPresence(false);
      return;
    }
    const lastSeen = this.lastSignOfLife(socket);
    const silentFor = clock.nowMs() - lastSeen;
    if (silentFor >= SILENCE_TIMEOUT_MS) {
      socket.close(CLOSE_CODES.silent, "Nothing received for 90 seconds.");
      await this.setPresence(false);
      return;
    }
    await this.ctx.storage.setAlarm(Date.now() + SILENCE_TIMEOUT_MS - silentFor);
    // An agent may stay connected for months: its bookkeeping is purged while it is, not only on connect.
    this.forgetOldMessageIds(clock.nowMs());
    if (this.env.ENCRYPTION_KEY_PREVIOUS) await this.resealQueue();
    // Still connected: retry a presence write that failed, else now and then refresh lastSeenUtc.
    const session = this.session();
    if (!session?.online) await this.setPresence(true);
    else if (lastSeen - (session.lastSeenWrittenAt ?? 0) >= LAST_SEEN_REFRESH_MS) {
      await this.withSession((current, ctx) => touchAgent({ ...ctx, now: new Date(lastSeen) }, current.agentId));
      this.saveSession({ ...session, lastSeenWrittenAt: lastSeen });
    }
  }

  // -------------------------------------------------------------------------------------------------

  private async socketGone(ws: WebSocket): Promise<void> {
    const others = this.ctx.getWebSockets().filter((s) => s !== ws && s.readyState === WebSocket.OPEN);
    if (others.length === 0) await this.setPresence(false);
  }

  /** The open socket of the newest connection, if any. */
  private currentSocket(): WebSocket | null {
    let newest: { socket: WebSocket; at: number } | null = null;
    for (const socket of this.ctx.getWebSockets()) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      const { connectedAt } = socket.deserializeAttachment() as SocketState;
      if (!newest || connectedAt >= newest.at) newest = { socket, at: connectedAt };
    }
    return newest?.socket ?? null;
  }

  /** The later of the last frame we handled and the last ping the runtime answered for us. */
  private lastSignOfLife(socket: WebSocket): number {
    const { lastFrameAt } = socket.deserializeAttachment() as SocketState;
    const lastPing = this.ctx.getWebSocketAutoResponseTimestamp(socket)?.getTime() ?? 0;
    return Math.max(lastFrameAt, lastPing);
  }

  private send(ws: WebSocket, frame: ServerFrame): void {
    ws.send(JSON.stringify(frame));
  }

  /**
   * Housekeeping of the message-id bookkeeping (acknowledged commands are deleted at their ack): ids
   * applied more than APPLIED_ID_RETENTION_MS ago, a bounded number per call through their time index.
   */
  private forgetOldMessageIds(now: number): void {
    this.sql.exec(
      "DELETE FROM applied_messages WHERE id IN (SELECT id FROM applied_messages WHERE applied_at < ? LIMIT ?)",
      now - APPLIED_ID_RETENTION_MS,
      APPLIED_ID_PURGE_LIMIT,
    );
  }

  /**
   * A queued command's JSON, opened if sealed. One no configured key opens (sealed under a key since
   * removed) can never be delivered: it is dropped and logged, so it does not hold back the queue behind it.
   */
  private async openCommand(row: { id: string; body: string }): Promise<string | null> {
    if (!isSealed(row.body)) return row.body;
    try {
      return await openSecret(this.env, row.body, SECRET_BINDINGS.agentCommand(row.id));
    } catch (error) {
      this.sql.exec("DELETE FROM commands WHERE id = ?", row.id);
      log.error("agent.command.unreadable", { agentId: this.session()?.agentId, commandId: row.id, error: errorText(error) });
      return null;
    }
  }

  /** A new connection: sends every unacknowledged command, in seq order (sealed ones opened), and marks them sent. */
  private sendQueuedCommands(ws: WebSocket): Promise<void> {
    const run = this.sending.then(async () => {
      const rows = this.sql.exec<{ seq: number; id: string; body: string }>("SELECT seq, id, body FROM commands ORDER BY seq").toArray();
      const bodies = await Promise.all(rows.map((row) => this.openCommand(row)));
      if (ws.readyState !== WebSocket.OPEN) return;
      rows.forEach((row, i) => {
        const body = bodies[i];
        if (body !== null) ws.send(commandFrame(row.id, row.seq, body));
      });
      if (rows.length > 0) this.sql.exec("UPDATE commands SET sent = 1 WHERE sent = 0 AND seq <= ?", rows[rows.length - 1].seq);
    });
    // They stay queued (unsent) for the next connect.
    this.sending = run.catch((error: Error) => log.error("agent.commands.unsent", { agentId: this.session()?.agentId, error: errorText(error) }));
    return this.sending as Promise<void>;
  }

  private refuse(ws: WebSocket, state: SocketState, id: string | null, error: string): void {
    const now = state.lastFrameAt;
    state.badFrames = [...state.badFrames.filter((t) => now - t < BAD_FRAME_WINDOW_MS), now];
    ws.serializeAttachment(state);
    this.send(ws, { type: "error", id, error });
    if (state.badFrames.length >= MAX_BAD_FRAMES_PER_MINUTE) ws.close(CLOSE_CODES.policyViolation, "Too many bad frames.");
  }

  /** Takes one frame (and one log row for a `log`) from the agent's buckets; why not, if it cannot. */
  private spendBudget(frame: Exclude<AgentFrame, { type: "ping" | "ack" }>, now: number): string | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM session WHERE key = 'budget'").toArray()[0];
    const budget: Budget = row ? JSON.parse(row.value) : { frames: AGENT_BUDGET.frameBurst, logRows: AGENT_BUDGET.logRowBurst, refilledAt: now, refusals: [] };
    const elapsed = Math.max(0, now - budget.refilledAt);
    budget.frames = Math.min(AGENT_BUDGET.frameBurst, budget.frames + (elapsed * AGENT_BUDGET.framesPerSecond) / 1000);
    budget.logRows = Math.min(AGENT_BUDGET.logRowBurst, budget.logRows + (elapsed * AGENT_BUDGET.logRowsPerMinute) / 60_000);
    budget.refilledAt = now;
    let refusal: string | null = null;
    if (budget.frames < 1) refusal = `${OVER_BUDGET_ERROR} more than ${AGENT_BUDGET.framesPerSecond} frames a second; send it again later.`;
    else if (frame.type === "log" && budget.logRows < 1) refusal = `${OVER_BUDGET_ERROR} more than ${AGENT_BUDGET.logRowsPerMinute} log entries a minute; send it again later.`;
    else if (frame.type === "inventory") refusal = inventoryOverCap(frame.engines);
    if (!refusal) {
      budget.frames -= 1;
      if (frame.type === "log") budget.logRows -= 1;
    } else {
      budget.refusals = [...budget.refusals.filter((t) => now - t < 60_000), now];
    }
    this.sql.exec("INSERT OR REPLACE INTO session (key, value) VALUES ('budget', ?)", JSON.stringify(budget));
    return refusal;
  }

  /** An `error` for the frame; sustained abuse closes the socket with 1008 and leaves one Warning in the log. */
  private async refuseOverBudget(ws: WebSocket, id: string, error: string): Promise<void> {
    this.send(ws, { type: "error", id, error });
    const refusals = (JSON.parse(this.sql.exec<{ value: string }>("SELECT value FROM session WHERE key = 'budget'").one().value) as Budget).refusals;
    if (refusals.length < AGENT_BUDGET.closeAfterRefusalsPerMinute || ws.readyState !== WebSocket.OPEN) return;
    ws.close(CLOSE_CODES.policyViolation, "Over budget.");
    log.warn("agent.over_budget", { agentId: this.session()?.agentId });
    await this.withSession((session, ctx) =>
      platformLogInsert(ctx, {
        severity: "Warning",
        message: `Agent ${describeAgent(session)} was disconnected: it sent more than its budget allows (${refusals.length} frames refused in a minute).`,
        agentId: session.agentId,
      }),
    );
  }

  /**
   * Applies an agent message once per id: a repeat is acknowledged again and changes nothing. The ack
   * goes out only after the message is durably applied; a refused message gets an `error` frame instead.
   */
  private applyOnce(ws: WebSocket, frame: Exclude<AgentFrame, { type: "ping" | "ack" }>): Promise<void> {
    const run = this.applying.then(async () => {
      const seen = this.sql.exec("SELECT 1 FROM applied_messages WHERE id = ?", frame.id).toArray().length > 0;
      let outcome: BackupReportOutcome = { ok: true };
      if (!seen) {
        try {
          outcome = await this.apply(frame);
        } catch (error) {
          log.error("agent.message.unapplied", { agentId: this.session()?.agentId, type: frame.type, error: errorText(error) });
          outcome = { ok: false, error: "The platform could not record this message; send it again later." };
        }
        if (outcome.ok) this.sql.exec("INSERT OR IGNORE INTO applied_messages (id, applied_at) VALUES (?, ?)", frame.id, clock.nowMs());
      }
      if (ws.readyState !== WebSocket.OPEN) return;
      this.send(ws, outcome.ok ? { type: "ack", id: frame.id } : { type: "error", id: frame.id, error: outcome.error });
    });
    this.applying = run.catch(() => undefined);
    return run;
  }

  private async apply(frame: Exclude<AgentFrame, { type: "ping" | "ack" }>): Promise<BackupReportOutcome> {
    const outcome = await this.withSession(async (session, ctx) => {
      switch (frame.type) {
        case "hello":
          await updateAgentFacts(ctx, session.agentId, frame);
          this.saveSession({ ...session, hostname: frame.hostname, displayName: frame.displayName === undefined ? session.displayName : frame.displayName });
          return { ok: true } as const;
        case "inventory":
          await applyInventory(ctx, session.agentId, frame.engines);
          return { ok: true } as const;
        case "log":
          await recordAgentLog(ctx, session.agentId, frame);
          return { ok: true } as const;
        case "files.deleted":
          await markFilesDeleted(ctx, session.agentId, frame.files);
          return { ok: true } as const;
        case "restore.started":
        case "restore.progress":
        case "restore.completed":
        case "restore.failed":
          return applyRestoreReport(ctx, session.agentId, frame);
        case "verify.started":
        case "verify.progress":
        case "verify.completed":
        case "verify.failed":
          return applyVerifyReport(ctx, session.agentId, frame);
        default: {
          const outcome = await applyBackupReport(ctx, session.agentId, frame);
          if (outcome.ok) this.ctx.waitUntil(publishLive(this.env, session.subscriberId, liveRunEvent(frame)));
          return outcome;
        }
      }
    });
    return outcome ?? { ok: false, error: "This agent was deleted." };
  }

  /** Records a presence change in D1 (with its event and log entry) once per change, in order. */
  private async setPresence(online: boolean): Promise<void> {
    const write = this.presenceWrites.then(() =>
      this.withSession(async (session, ctx) => {
        if (session.online === online) return;
        await publishEvents(this.env, [await recordPresence(ctx, session, online)]);
        this.ctx.waitUntil(publishLive(this.env, session.subscriberId, { type: "agent.presence", agentId: session.agentId, isOnline: online }));
        this.saveSession({ ...this.session()!, online, lastSeenWrittenAt: ctx.now.getTime() });
      }),
    );
    this.presenceWrites = write.catch((error: Error) => log.error("agent.presence.unrecorded", { agentId: this.session()?.agentId, online, error: errorText(error) }));
    await this.presenceWrites;
  }

  /**
   * Runs `fn` with the session's agent and the message's service context (the agent acting for its
   * subscriber; agent messages are not plan-limited, so no plan); nothing when the agent was never
   * connected or was deleted.
   */
  private async withSession<T>(fn: (session: SessionState, ctx: Omit<ServiceContext, "plan">) => Promise<T>): Promise<T | undefined> {
    const session = this.session();
    if (!session) return undefined;
    const d1 = this.env.DB.withSession(this.d1Bookmark ?? "first-primary");
    try {
      return await fn(session, {
        db: tenantDb(createDb(d1), session.subscriberId),
        env: this.env,
        now: clock.now(),
        waitUntil: (promise) => this.ctx.waitUntil(promise),
        subscriberId: session.subscriberId,
        principal: { kind: "agent", agentId: session.agentId },
      });
    } finally {
      this.d1Bookmark = d1.getBookmark() ?? this.d1Bookmark;
    }
  }

  private session(): SessionState | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM session WHERE key = 'agent'").toArray()[0];
    return row ? (JSON.parse(row.value) as SessionState) : null;
  }

  private saveSession(session: SessionState): void {
    this.sql.exec("INSERT OR REPLACE INTO session (key, value) VALUES ('agent', ?)", JSON.stringify(session));
  }
}
