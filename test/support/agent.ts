import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { type AgentFrame, type ServerFrame, parseServerFrame } from "../../src/protocol/agent-protocol";
import { BASE, api, createSubscriber } from "../helpers";

/** A registration token of a fresh (or given) subscriber. */
export async function registrationToken(token: string): Promise<string> {
  const res = await api("/api/agent/registration-token", { method: "POST", token });
  expect(res.status).toBe(200);
  return (await res.json<{ registrationToken: string }>()).registrationToken;
}

export async function enroll(token: string, facts: Partial<{ hostname: string; displayName: string; version: string }> = {}) {
  const res = await api("/api/agent/register", {
    json: { registrationToken: await registrationToken(token), hostname: "PROD-SQL-01", operatingSystem: "Debian 13", version: "1.0.0", ...facts },
  });
  expect(res.status).toBe(200);
  return res.json<{ agentId: string; agentToken: string }>();
}

/** A subscriber with one enrolled agent. */
export async function subscriberWithAgent(plan: Parameters<typeof createSubscriber>[0] = {}) {
  const user = await createSubscriber(plan);
  const agent = await enroll(user.token, { displayName: "Production SQL Server" });
  return { ...user, ...agent };
}

export function connectRequest(agentToken: string | null, headers: Record<string, string> = { Upgrade: "websocket" }) {
  return exports.default.fetch(`${BASE}/api/agent/connect`, {
    headers: { ...headers, ...(agentToken ? { authorization: `Bearer ${agentToken}` } : {}) },
  });
}

/** The test's side of an agent socket: frames in arrival order, awaited one by one. */
export class TestAgent {
  private readonly frames: ServerFrame[] = [];
  private readonly waiting: ((frame: ServerFrame) => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
    ws.addEventListener("message", (e) => {
      const parsed = parseServerFrame(e.data as string);
      if (!parsed.ok) throw new Error(`server sent an invalid frame: ${parsed.error}`);
      const waiter = this.waiting.shift();
      if (waiter) waiter(parsed.frame);
      else this.frames.push(parsed.frame);
    });
    ws.accept();
  }

  /** The next frame from the server (fails the test if none comes within 4 s). */
  next(): Promise<ServerFrame> {
    const frame = this.frames.shift();
    if (frame) return Promise.resolve(frame);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no frame from the server within 4 s")), 4000);
      this.waiting.push((f) => {
        clearTimeout(timer);
        resolve(f);
      });
    });
  }

  async nextOfType<T extends ServerFrame["type"]>(type: T): Promise<Extract<ServerFrame, { type: T }>> {
    const frame = await this.next();
    expect(frame.type).toBe(type);
    return frame as Extract<ServerFrame, { type: T }>;
  }

  /** Frames received and not yet read. */
  pending(): ServerFrame[] {
    return [...this.frames];
  }

  send(frame: AgentFrame | Record<string, unknown> | string): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Sends a message and returns the server's answer to it (ack or error). */
  async request(frame: AgentFrame): Promise<ServerFrame> {
    this.send(frame);
    return this.next();
  }

  close(code = 1000): void {
    this.ws.close(code, "bye");
  }
}

/** Opens the agent socket and reads the welcome frame. */
export async function connectAgent(agentToken: string): Promise<TestAgent> {
  const res = await connectRequest(agentToken);
  expect(res.status).toBe(101);
  const agent = new TestAgent(res.webSocket!);
  await agent.nextOfType("welcome");
  return agent;
}
