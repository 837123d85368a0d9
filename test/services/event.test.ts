import { eq } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { webhookDeliveries } from "../../src/db/schema";
import { AgentSocket, createAgent, createDestination, createJob } from "../support/backup";
import { db } from "../helpers";
import { subscriberWithWebhook } from "../support/webhook";

const CHECKSUM = `sha256:${"0f".repeat(32)}`;

/** The webhook's deliveries once they have been queued (the publish runs right after each event's batch). */
async function queuedDeliveries(webhookId: string, count: number) {
  let rows: (typeof webhookDeliveries.$inferSelect)[] = [];
  await vi.waitFor(
    async () => {
      rows = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhookId));
      expect(rows.filter((r) => r.enqueuedAt !== null)).toHaveLength(count);
    },
    { timeout: 10_000, interval: 100 },
  );
  return rows;
}

describe("events recorded elsewhere reach the webhooks", () => {
  it("agent.connected/disconnected and backup.success from a real agent socket are delivered and queued at once", async () => {
    // The webhook points at a closed local port: what matters here is that each event got its queued delivery.
    const { subscriberId, token, webhook } = await subscriberWithWebhook({
      url: "http://127.0.0.1:9/hook",
      events: ["agent.connected", "agent.disconnected", "backup.success"],
    });
    const agent = await createAgent(subscriberId);
    const destinationId = await createDestination(token);
    const backupJobId = await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });

    const socket = await AgentSocket.connect(agent.agentToken);
    expect((await queuedDeliveries(webhook.webhookId, 1)).map((d) => d.eventType)).toEqual(["agent.connected"]);

    const backupRunId = crypto.randomUUID();
    await socket.report({ type: "backup.started", backupRunId, backupJobId, backupMode: "Full", trigger: "Schedule", startedUtc: "2026-11-27T02:00:00Z" });
    const files = [{ databaseId: agent.databaseIds[0], destinationId, fileName: "Sales_Full.bak", fileSize: 500, checksum: CHECKSUM }];
    expect(await socket.report({ type: "backup.completed", backupRunId, finishedUtc: "2026-11-27T02:00:30Z", files })).toMatchObject({ type: "ack" });
    expect((await queuedDeliveries(webhook.webhookId, 2)).map((d) => d.eventType).sort()).toEqual(["agent.connected", "backup.success"]);

    socket.close();
    expect((await queuedDeliveries(webhook.webhookId, 3)).map((d) => d.eventType).sort()).toEqual(["agent.connected", "agent.disconnected", "backup.success"]);
  });
});
