import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { type BackupMode, type DestinationType, agents, databases, engines } from "../../src/db/schema";
import { clock } from "../../src/lib/clock";
import { randomToken, sha256Hex } from "../../src/lib/crypto";
import type { AgentCommand, ServerFrame } from "../../src/protocol/agent-protocol";
import { BASE, api, db } from "../helpers";

/**
 * An agent of `subscriberId` with one engine and its databases, written straight to D1 (the tests of
 * this folder are about jobs, not enrollment; e2e.test.ts enrolls through the API). Unless told
 * otherwise it is a 1.0 agent: a Full-only engine, LocalStorage/S3Storage/SftpStorage destinations.
 */
export async function createAgent(
  subscriberId: string,
  opts: { databases?: string[]; online?: boolean; backupModes?: BackupMode[]; destinationTypes?: DestinationType[] } = {},
) {
  const now = clock.now();
  const agentId = crypto.randomUUID();
  const engineId = crypto.randomUUID();
  const agentToken = randomToken("ds_agent_");
  const names = opts.databases ?? ["Sales", "Inventory"];
  const databaseIds = names.map(() => crypto.randomUUID());
  await db().batch([
    db()
      .insert(agents)
      .values({
        id: agentId,
        subscriberId,
        hostname: "SQL-01",
        operatingSystem: "Linux",
        version: "1.0.0",
        tokenHash: await sha256Hex(agentToken),
        isOnline: opts.online ?? false,
        destinationTypes: opts.destinationTypes ?? null,
        createdAt: now,
      }),
    db().insert(engines).values({ id: engineId, subscriberId, agentId, engineKey: "mssql-default", dbmsType: "MicrosoftSql", backupModes: opts.backupModes, createdAt: now, updatedAt: now }),
    db()
      .insert(databases)
      .values(names.map((name, i) => ({ id: databaseIds[i], subscriberId, agentId, engineId, name, createdAt: now }))),
  ]);
  return { agentId, agentToken, databaseIds };
}

export async function createDestination(token: string, overrides: Record<string, unknown> = {}) {
  const res = await api("/api/destination", {
    token,
    json: { name: "Local disk", type: "LocalStorage", settings: { path: "/var/backups" }, ...overrides },
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json<{ destinationId: string }>()).destinationId;
}

export async function createJob(token: string, body: Record<string, unknown>) {
  const res = await api("/api/backupjob", { token, json: { name: "Nightly", schedules: [{ backupMode: "Full", cronExpression: "0 2 * * *" }], ...body } });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json<{ backupJobId: string }>()).backupJobId;
}

type CommandFrame = Extract<ServerFrame, { type: "command" }>;

/** A test agent on a real WebSocket through the Worker: records every frame, acknowledges commands on request. */
export class AgentSocket {
  readonly frames: ServerFrame[] = [];
  private readonly taken = new Set<ServerFrame>();
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      this.frames.push(JSON.parse(event.data as string) as ServerFrame);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(agentToken: string): Promise<AgentSocket> {
    const res = await exports.default.fetch(`${BASE}/api/agent/connect`, {
      headers: { Upgrade: "websocket", Authorization: `Bearer ${agentToken}` },
    });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const socket = new AgentSocket(ws);
    await socket.next((f) => f.type === "welcome");
    return socket;
  }

  /** The first frame (already received or still to come) matching `match`. */
  async next(match: (frame: ServerFrame) => boolean, what = "frame"): Promise<ServerFrame> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const found = this.frames.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 25);
      });
    }
    throw new Error(`no ${what} arrived; got ${JSON.stringify(this.frames)}`);
  }

  /** The next command of `type` (optionally matching), acknowledged as an agent that applied it would. */
  async command<T extends AgentCommand["type"]>(type: T, match: (c: Extract<AgentCommand, { type: T }>) => boolean = () => true) {
    const frame = (await this.next(
      (f) => !this.taken.has(f) && f.type === "command" && f.command.type === type && match(f.command as Extract<AgentCommand, { type: T }>),
      `${type} command`,
    )) as CommandFrame;
    this.taken.add(frame);
    this.ws.send(JSON.stringify({ type: "ack", id: frame.id }));
    return frame.command as Extract<AgentCommand, { type: T }>;
  }

  commands(): AgentCommand[] {
    return this.frames.filter((f): f is CommandFrame => f.type === "command").map((f) => f.command);
  }

  /** Sends a message and waits for the platform's answer to its id: an `ack` or an `error`. */
  async report(message: Record<string, unknown>): Promise<ServerFrame> {
    const id = (message.id as string | undefined) ?? crypto.randomUUID();
    this.ws.send(JSON.stringify({ ...message, id }));
    return this.next((f) => (f.type === "ack" || f.type === "error") && f.id === id, `answer to ${message.type as string}`);
  }

  close() {
    this.ws.close(1000, "done");
  }
}
