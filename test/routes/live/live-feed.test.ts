import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BASE, api, createSubscriber } from "../../helpers";
import { AgentSocket, createAgent, createDestination, createJob } from "../../support/backup";

/** The dashboard's side of the live feed: every event in arrival order. */
class LiveClient {
  readonly events: Record<string, unknown>[] = [];

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      this.events.push(JSON.parse(e.data as string));
    });
    ws.accept();
  }

  static async open(headers: Record<string, string>) {
    const res = await exports.default.fetch(`${BASE}/api/live`, { headers: { Upgrade: "websocket", ...headers } });
    expect(res.status).toBe(101);
    return new LiveClient(res.webSocket!);
  }

  /** The first event matching `expected` (waits up to 2 s: the dashboard's promise). */
  async next(expected: Record<string, unknown>) {
    const matches = (e: Record<string, unknown>) => Object.entries(expected).every(([k, v]) => e[k] === v);
    for (let waited = 0; waited < 2000; waited += 20) {
      const found = this.events.find(matches);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no live event like ${JSON.stringify(expected)}; got ${JSON.stringify(this.events)}`);
  }
}

async function subscriberWithJob() {
  const user = await createSubscriber();
  const agent = await createAgent(user.subscriberId);
  const destinationId = await createDestination(user.token);
  const backupJobId = await createJob(user.token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });
  return { ...user, agent, destinationId, backupJobId };
}

describe("GET /api/live", () => {
  it("sends agent presence, run progress and the run's result to every open dashboard of the subscriber", async () => {
    const user = await subscriberWithJob();
    const first = await LiveClient.open({ authorization: `Bearer ${user.token}` });
    const second = await LiveClient.open({ authorization: `Bearer ${user.token}` });
    await first.next({ type: "hello" });

    const socket = await AgentSocket.connect(user.agent.agentToken);
    for (const client of [first, second]) await client.next({ type: "agent.presence", agentId: user.agent.agentId, isOnline: true });

    const backupRunId = crypto.randomUUID();
    await socket.report({ type: "backup.started", backupRunId, backupJobId: user.backupJobId, backupMode: "Full", trigger: "Manual", startedUtc: "2026-11-27T02:00:00Z" });
    expect(await first.next({ type: "backup.run", status: "Running" })).toEqual({ type: "backup.run", backupRunId, backupJobId: user.backupJobId, status: "Running" });
    await socket.report({ type: "backup.progress", backupRunId, bytesDone: 4096 });
    expect(await first.next({ type: "backup.run", bytesDone: 4096 })).toMatchObject({ backupRunId, status: "Running" });
    const files = [{ databaseId: user.agent.databaseIds[0], destinationId: user.destinationId, fileName: "Sales.bak", fileSize: 10, checksum: `sha256:${"0f".repeat(32)}` }];
    await socket.report({ type: "backup.completed", backupRunId, finishedUtc: "2026-11-27T02:00:30Z", files });
    await second.next({ type: "backup.run", backupRunId, status: "Success" });

    socket.close();
    await first.next({ type: "agent.presence", isOnline: false });
    first.ws.close();
    second.ws.close();
  });

  it("tells a subscriber nothing about another subscriber's agents", async () => {
    const other = await subscriberWithJob();
    const user = await createSubscriber();
    const feed = await LiveClient.open({ authorization: `Bearer ${user.token}` });
    await feed.next({ type: "hello" });
    const socket = await AgentSocket.connect(other.agent.agentToken);
    const watcher = await LiveClient.open({ authorization: `Bearer ${other.token}` });
    socket.close();
    await watcher.next({ type: "agent.presence", isOnline: false });
    expect(feed.events).toEqual([{ type: "hello" }]);
    feed.ws.close();
    watcher.ws.close();
  });

  it("is authenticated like the API: 401 without credentials, 403 for a cookie from another origin, 426 without an upgrade", async () => {
    const none = await exports.default.fetch(`${BASE}/api/live`, { headers: { Upgrade: "websocket" } });
    expect(none.status).toBe(401);

    const user = await createSubscriber();
    const login = await api("/api/auth/session", { json: { email: user.email, password: user.password }, headers: { origin: BASE } });
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    const cross = await exports.default.fetch(`${BASE}/api/live`, { headers: { Upgrade: "websocket", cookie, origin: "https://evil.example" } });
    expect(cross.status).toBe(403);
    const viaCookie = await LiveClient.open({ cookie, origin: BASE });
    await viaCookie.next({ type: "hello" });
    viaCookie.ws.close();

    const plain = await api("/api/live", { token: user.token });
    expect(plain.status).toBe(426);
    expect(await plain.json()).toMatchObject({ error: "Expected a WebSocket upgrade." });
  });
});
