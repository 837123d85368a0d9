import { CLOSE_CODES, parseServerFrame, PING_FRAME, PING_INTERVAL_MS, SILENCE_TIMEOUT_MS, type ServerFrame } from "../../src/protocol/agent-protocol.ts";

export interface ConnectionHandlers {
  /** The platform said `welcome`: the socket is ready for the agent's frames. */
  onReady(): void;
  /** Every other frame the platform sends (commands, acks, errors). */
  onFrame(frame: Exclude<ServerFrame, { type: "welcome" } | { type: "pong" }>): void;
  /** Closed with 4001, or a connect answered 401 `agent_revoked`: the agent was deleted on the platform. */
  onRevoked(): void;
  /** The platform refuses the agent token outright (401 on the upgrade). */
  onTokenRefused(): void;
  /** The socket is gone and a reconnect is scheduled. */
  onClosed?(why: string): void;
  /** Local diagnostics: connection state changes, bad frames. */
  note(message: string): void;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** 0..1, injectable for tests. */
  random: () => number;
}

/** "Full jitter" exponential backoff: uniformly random up to min(max, initial × 2^attempt). */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(options.random() * ceiling);
}

/** A path under the server's base URL (which may itself have a path, behind a reverse proxy). */
export function apiUrl(server: string, path: string): URL {
  return new URL(path.replace(/^\//, ""), server.endsWith("/") ? server : `${server}/`);
}

export function connectUrl(server: string): string {
  const url = apiUrl(server, "/api/agent/connect");
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

/**
 * The agent's WebSocket to the platform: reconnects with backoff and jitter until stopped, pings every
 * 30 s and treats 90 s without any frame as a dead connection.
 */
export class Connection {
  private readonly server: string;
  private readonly token: string;
  private readonly handlers: ConnectionHandlers;
  private readonly backoff: BackoffOptions;
  private socket: WebSocket | undefined;
  private ready = false;
  private stopped = true;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastReceived = 0;

  constructor(args: { server: string; token: string; handlers: ConnectionHandlers; backoff?: Partial<BackoffOptions> }) {
    this.server = args.server;
    this.token = args.token;
    this.handlers = args.handlers;
    this.backoff = { initialMs: 1000, maxMs: 60_000, random: Math.random, ...args.backoff };
  }

  get isReady(): boolean {
    return this.ready;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.closeSocket(1000, "agent stopping");
  }

  /** Sends one frame if the socket is ready; the outbox resends whatever does not get through. */
  send(frame: object): boolean {
    if (!this.ready || !this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private open(): void {
    let opened = false;
    const socket = new WebSocket(connectUrl(this.server), { headers: { Authorization: `Bearer ${this.token}` } } as unknown as string[]);
    this.socket = socket;
    socket.addEventListener("open", () => {
      opened = true;
      this.lastReceived = Date.now();
      this.startPinging(socket);
    });
    socket.addEventListener("message", (event) => {
      this.lastReceived = Date.now();
      this.receive(event.data);
    });
    let gone = false;
    const onGone = (code: number, reason: string) => {
      if (gone || this.socket !== socket) return;
      gone = true;
      this.ready = false;
      this.socket = undefined;
      clearInterval(this.pingTimer);
      if (code === CLOSE_CODES.revoked) return this.handlers.onRevoked();
      if (this.stopped) return;
      if (!opened) {
        void this.probeRefusal().then((refusal) => {
          if (refusal === "revoked") return this.handlers.onRevoked();
          if (refusal === "refused") return this.handlers.onTokenRefused();
          this.scheduleReconnect("could not connect");
        });
        return;
      }
      this.scheduleReconnect(`connection closed (${code}${reason ? ` ${reason}` : ""})`);
    };
    socket.addEventListener("close", (event) => onGone(event.code, event.reason));
    // A refused upgrade fires only "error" (no "close") in Node's WebSocket.
    socket.addEventListener("error", () => {
      if (!opened) onGone(1006, "");
    });
  }

  private receive(data: unknown): void {
    const parsed = parseServerFrame(typeof data === "string" ? data : String(data));
    if (!parsed.ok) return this.handlers.note(`Ignored a frame from the platform: ${parsed.error}`);
    const frame = parsed.frame;
    if (frame.type === "pong") return;
    if (frame.type === "welcome") {
      this.ready = true;
      this.attempt = 0;
      this.handlers.note(`Connected to ${this.server} as agent ${frame.agentId}.`);
      return this.handlers.onReady();
    }
    this.handlers.onFrame(frame);
  }

  private startPinging(socket: WebSocket): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastReceived > SILENCE_TIMEOUT_MS) {
        this.handlers.note("No answer from the platform for 90 s; reconnecting.");
        return this.closeSocket(4002, "silent");
      }
      if (socket.readyState === WebSocket.OPEN) socket.send(PING_FRAME);
    }, PING_INTERVAL_MS);
  }

  private closeSocket(code: number, reason: string): void {
    const socket = this.socket;
    if (!socket) return;
    clearInterval(this.pingTimer);
    this.ready = false;
    if (this.stopped) this.socket = undefined;
    try {
      socket.close(code, reason);
    } catch {
      // already closing
    }
  }

  private scheduleReconnect(why: string): void {
    this.handlers.onClosed?.(why);
    const delay = backoffDelay(this.attempt++, this.backoff);
    this.handlers.note(`${why}; reconnecting in ${(delay / 1000).toFixed(1)} s.`);
    this.reconnectTimer = setTimeout(() => {
      if (!this.stopped) this.open();
    }, delay);
  }

  /**
   * The WebSocket API hides the upgrade's status: ask over plain HTTP whether the token itself is
   * refused, and whether because the agent was deleted while it was offline (`agent_revoked`).
   */
  private async probeRefusal(): Promise<"revoked" | "refused" | null> {
    try {
      const response = await fetch(apiUrl(this.server, "/api/agent/connect"), { headers: { Authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(10_000) });
      if (response.status !== 401) return null;
      const body = (await response.json().catch(() => ({}))) as { code?: unknown };
      return body.code === "agent_revoked" ? "revoked" : "refused";
    } catch {
      return null;
    }
  }
}
