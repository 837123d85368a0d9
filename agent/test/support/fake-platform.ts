import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import type { AgentCommand } from "../../../src/protocol/agent-protocol.ts";

export interface ReceivedFrame {
  type: string;
  id?: string;
  [key: string]: unknown;
}

/**
 * A stand-in for the platform's side of the socket (docs/agent-protocol.md), to drive the agent through
 * reconnects, withheld acks and redelivered commands that the real Worker does not produce on demand.
 */
export class FakePlatform {
  readonly agentId = randomUUID();
  readonly agentToken = `ds_agent_${randomUUID()}`;
  readonly frames: ReceivedFrame[] = [];
  /** When false, the agent's messages are recorded but not acknowledged. */
  ackMessages = true;
  /** Answers a frame with an `error` (and no ack) when this returns a reason. */
  refuse: (frame: ReceivedFrame) => string | undefined = () => undefined;
  connections = 0;
  /** When true, the agent's token is answered as a deleted agent's: 401 `agent_revoked`. */
  revoked = false;
  registrationTokens = new Set<string>();
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private socket: WebSocket | undefined;
  private seq = 0;
  private waiters: { predicate: (frames: ReceivedFrame[]) => boolean; resolve: () => void }[] = [];

  constructor() {
    this.http = createServer((req, res) => void this.handleHttp(req, res));
    this.http.on("upgrade", (req, socket, head) => {
      if (this.revoked || req.headers.authorization !== `Bearer ${this.agentToken}`) {
        socket.end("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.http.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async handleHttp(req: IncomingMessage, res: import("node:http").ServerResponse): Promise<void> {
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.method === "POST" && req.url === "/api/agent/register") {
      let text = "";
      for await (const chunk of req) text += chunk;
      const body = JSON.parse(text) as { registrationToken: string };
      if (!this.registrationTokens.delete(body.registrationToken)) return json(400, { error: "Registration token is invalid, expired or already used." });
      return json(200, { agentId: this.agentId, agentToken: this.agentToken });
    }
    if (req.url === "/api/agent/connect") {
      if (this.revoked) return json(401, { error: "This agent was deleted on the platform: wipe its state and enroll again.", code: "agent_revoked" });
      return req.headers.authorization === `Bearer ${this.agentToken}` ? json(426, { error: "Expected a WebSocket upgrade." }) : json(401, { error: "Invalid agent token." });
    }
    if (req.url === "/api/health") return json(200, { status: "ok" });
    json(404, { error: "Not found." });
  }

  private accept(ws: WebSocket): void {
    this.socket?.close(4000, "replaced");
    this.socket = ws;
    this.connections++;
    ws.on("message", (data) => {
      const text = data.toString();
      if (text === '{"type":"ping"}') return ws.send('{"type":"pong"}');
      const frame = JSON.parse(text) as ReceivedFrame;
      this.frames.push(frame);
      const isCommandAck = frame.type === "ack";
      const refusal = this.refuse(frame);
      if (refusal) ws.send(JSON.stringify({ type: "error", id: frame.id ?? null, error: refusal }));
      else if (this.ackMessages && !isCommandAck && frame.id) ws.send(JSON.stringify({ type: "ack", id: frame.id }));
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.predicate(this.frames)) return true;
        waiter.resolve();
        return false;
      });
    });
    ws.send(JSON.stringify({ type: "welcome", agentId: this.agentId, protocolVersion: 1, serverTime: new Date().toISOString() }));
  }

  /** Sends a command frame; returns its id. */
  command(command: AgentCommand, id: string = randomUUID()): string {
    this.socket!.send(JSON.stringify({ type: "command", id, seq: ++this.seq, command }));
    return id;
  }

  ack(id: string): void {
    this.socket!.send(JSON.stringify({ type: "ack", id }));
  }

  /** Drops the connection without a close handshake, as a network failure would. */
  dropConnection(): void {
    this.socket?.terminate();
    this.socket = undefined;
  }

  closeWith(code: number, reason: string): void {
    this.socket?.close(code, reason);
  }

  get isConnected(): boolean {
    return this.socket?.readyState === 1;
  }

  ofType(type: string): ReceivedFrame[] {
    return this.frames.filter((frame) => frame.type === type);
  }

  waitFor(predicate: (frames: ReceivedFrame[]) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    if (predicate(this.frames)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Timed out waiting for ${what}; got ${this.frames.map((f) => f.type).join(", ")}`)), timeoutMs);
      this.waiters.push({ predicate, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}
