import { afterEach, describe, expect, it } from "vitest";
import { setClock } from "../../src/lib/clock";
import { receiver, recordEvent, runConsumer, subscriberWithWebhook, verifyWithStandardWebhooks, deliveryRow } from "./support";

afterEach(() => setClock(null));

describe("webhook delivery", () => {
  it("signs each delivery so that standardwebhooks verifies it", async () => {
    const { subscriberId, webhook } = await subscriberWithWebhook();
    const { eventId, deliveries } = await recordEvent(subscriberId, "backup.success", { backupJobId: "job-1", totalSize: 42 });
    expect(deliveries).toHaveLength(1);
    const target = receiver();
    const result = await runConsumer([deliveries[0].id], target.fetchFn);
    expect(result.explicitAcks).toHaveLength(1);
    expect(target.requests).toHaveLength(1);
    const payload = verifyWithStandardWebhooks(webhook.secret, target.requests[0]);
    expect(payload).toMatchObject({ type: "backup.success", data: { backupJobId: "job-1", totalSize: 42 } });
    expect(target.requests[0].request.headers.get("webhook-id")).toBe(eventId);
    expect((await deliveryRow(deliveries[0].id)).status).toBe("delivered");
  });
});
