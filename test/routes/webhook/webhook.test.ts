import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { events, webhookDeliveries, webhooks } from "../../../src/db/schema";
import { SECRET_BINDINGS, openSecret } from "../../../src/services/secret";
import { signWebhook } from "../../../src/services/webhook-signature";
import { api, createSubscriber, db } from "../../helpers";
import { recordEvent, subscriberWithWebhook } from "../../support/webhook";
import { T0, time } from "../../support/manual-clock";

const VALID = { url: "https://hooks.example.com/datasync", events: ["backup.success", "backup.failure", "backup.anomaly"] };

async function storedWebhooks(subscriberId: string) {
  return db().select().from(webhooks).where(eq(webhooks.subscriberId, subscriberId));
}

describe("POST /api/webhook", () => {
  it("creates a webhook and returns a generated whsec_ secret once, stored encrypted", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Professional" });
    const res = await api("/api/webhook", { token, json: VALID });
    expect(res.status).toBe(200);
    const body = await res.json<Record<string, unknown>>();
    expect(Object.keys(body).sort()).toEqual(["createdAt", "events", "isEnabled", "secret", "url", "webhookId"]);
    expect(body).toMatchObject({ url: VALID.url, events: VALID.events, isEnabled: true });
    expect(body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const secret = body.secret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(atob(secret.slice(6)).length).toBeGreaterThanOrEqual(24);

    const [row] = await storedWebhooks(subscriberId);
    expect(row.id).toBe(body.webhookId);
    expect(row.sealedSecret).not.toContain(secret.slice(6));
    expect(await openSecret(env, row.sealedSecret, SECRET_BINDINGS.webhookSecret(row.id))).toBe(secret);
  });

  it("keeps a secret the caller supplies", async () => {
    const { token } = await createSubscriber({ plan: "Ultimate" });
    const secret = `whsec_${btoa("0123456789abcdef01234567")}`;
    const res = await api("/api/webhook", { token, json: { ...VALID, secret } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ secret });
  });

  it("accepts the seed's example body verbatim and signs with that secret's bytes", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Professional" });
    const seedExample = { ...VALID, secret: "whsec_your-signing-secret" };
    const res = await api("/api/webhook", { token, json: seedExample });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ secret: "whsec_your-signing-secret", isEnabled: true });
    expect(await storedWebhooks(subscriberId)).toHaveLength(1);

    // Not base64, so the key is the text after whsec_ itself; checked with Web Crypto, not our signer's code path.
    const signature = await signWebhook("whsec_your-signing-secret", "msg_1", 1700000000, '{"a":1}');
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("your-signing-secret"), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    const mac = Uint8Array.from(atob(signature.slice(3)), (ch) => ch.charCodeAt(0));
    expect(await crypto.subtle.verify("HMAC", key, mac, new TextEncoder().encode('msg_1.1700000000.{"a":1}'))).toBe(true);
  });

  it.each([
    ["a secret without the whsec_ prefix", { ...VALID, secret: btoa("0123456789abcdef01234567") }, "secret"],
    ["a secret shorter than 24 bytes", { ...VALID, secret: `whsec_${btoa("too short")}` }, "secret"],
    ["a secret that is neither base64 nor 16 visible characters", { ...VALID, secret: "whsec_short secret" }, "secret"],
    ["no url", { events: VALID.events }, "url"],
    ["an http url", { ...VALID, url: "http://hooks.example.com/x" }, "https"],
    ["no events", { url: VALID.url, events: [] }, "events"],
    ["an unknown event", { url: VALID.url, events: ["backup.exploded"] }, "events"],
    ["the internal webhook.test event", { url: VALID.url, events: ["webhook.test"] }, "events"],
    ["events that are not an array", { url: VALID.url, events: "backup.success" }, "events"],
  ])("refuses %s with 400 and stores nothing", async (_what, json, mentioned) => {
    const { token, subscriberId } = await createSubscriber({ plan: "Professional" });
    const res = await api("/api/webhook", { token, json });
    expect(res.status).toBe(400);
    expect((await res.json<{ error: string }>()).error).toContain(mentioned);
    expect(await storedWebhooks(subscriberId)).toHaveLength(0);
  });

  it.each([
    "http://hooks.example.com/",
    "https://10.0.0.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/",
    "https://192.168.0.10/",
    "https://0xa000001/",
    "https://[fd00::1]/",
    "https://[fe80::1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://metadata.google.internal/",
    "https://nas.local/",
    "https://intranet/",
  ])("refuses the SSRF target %s", async (url) => {
    // https://127.0.0.1, https://[::1] and https://localhost are refused as well once ALLOW_LOCAL_WEBHOOKS is
    // not "true" (url-policy.test.ts); the test Worker runs with it on so that local receivers work.
    const { token, subscriberId } = await createSubscriber({ plan: "Professional" });
    const res = await api("/api/webhook", { token, json: { ...VALID, url } });
    expect(res.status).toBe(400);
    expect((await res.json<{ details: { path: string }[] }>()).details[0].path).toBe("url");
    expect(await storedWebhooks(subscriberId)).toHaveLength(0);
  });

  it("is Professional+: Free and Starter get 403", async () => {
    for (const plan of ["Free", "Starter"] as const) {
      const { token, subscriberId } = await createSubscriber({ plan });
      const created = await api("/api/webhook", { token, json: VALID });
      expect(created.status).toBe(403);
      expect((await created.json<{ error: string }>()).error).toContain("Webhooks require the Professional or Ultimate plan");
      expect((await api("/api/webhook", { token })).status).toBe(403);
      expect(await storedWebhooks(subscriberId)).toHaveLength(0);
    }
  });

  it("enforces the plan's webhook count (Professional: 10)", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Professional" });
    for (let i = 0; i < 10; i++) expect((await api("/api/webhook", { token, json: VALID })).status).toBe(200);
    const res = await api("/api/webhook", { token, json: VALID });
    expect(res.status).toBe(403);
    expect((await res.json<{ error: string }>()).error).toContain("at most 10 webhooks");
    expect(await storedWebhooks(subscriberId)).toHaveLength(10);
  });

  it("needs a token", async () => {
    const res = await api("/api/webhook", { json: VALID });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
  });
});

describe("GET /api/webhook", () => {
  it("lists the caller's webhooks in the seed's shape, newest first, without secrets", async () => {
    const { token } = await createSubscriber({ plan: "Professional" });
    const first = await (await api("/api/webhook", { token, json: VALID })).json<{ webhookId: string }>();
    const second = await (await api("/api/webhook", { token, json: { url: "https://other.example.com/h", events: ["agent.connected"] } })).json<{
      webhookId: string;
    }>();
    await subscriberWithWebhook(); // someone else's
    const res = await api("/api/webhook", { token });
    expect(res.status).toBe(200);
    const list = await res.json<Record<string, unknown>[]>();
    expect(list.map((w) => w.webhookId).sort()).toEqual([first.webhookId, second.webhookId].sort());
    for (const item of list) expect(Object.keys(item).sort()).toEqual(["createdAt", "events", "isEnabled", "url", "webhookId"]);
    expect(JSON.stringify(list)).not.toContain("whsec_");
  });

  it("needs a token", async () => {
    expect((await api("/api/webhook")).status).toBe(401);
  });
});

describe("PUT /api/webhook/{id}", () => {
  it("updates url, events and isEnabled and returns the webhook", async () => {
    const { token, webhook } = await subscriberWithWebhook();
    const res = await api(`/api/webhook/${webhook.webhookId}`, {
      method: "PUT",
      token,
      json: { url: "https://hooks.example.com/datasync-v2", events: ["backup.anomaly"], isEnabled: false },
    });
    expect(res.status).toBe(200);
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ webhookId: webhook.webhookId, url: "https://hooks.example.com/datasync-v2", events: ["backup.anomaly"], isEnabled: false });
    expect(body.secret).toBeUndefined();
    const partial = await api(`/api/webhook/${webhook.webhookId}`, { method: "PUT", token, json: { isEnabled: true } });
    expect(await partial.json()).toMatchObject({ url: "https://hooks.example.com/datasync-v2", isEnabled: true });
  });

  it("refuses a bad url or events with 400 and changes nothing", async () => {
    const { token, subscriberId, webhook } = await subscriberWithWebhook();
    for (const json of [{ url: "https://10.1.2.3/x" }, { events: ["webhook.test"] }, {}, { isEnabled: "yes" }]) {
      const res = await api(`/api/webhook/${webhook.webhookId}`, { method: "PUT", token, json });
      expect(res.status).toBe(400);
    }
    const [row] = await storedWebhooks(subscriberId);
    expect(row).toMatchObject({ url: webhook.url, events: ["backup.success", "backup.failure"], isEnabled: true });
  });

  it("answers 404 for another subscriber's webhook or an unknown id", async () => {
    const owner = await subscriberWithWebhook();
    const other = await createSubscriber({ plan: "Professional" });
    for (const id of [owner.webhook.webhookId, crypto.randomUUID()]) {
      const res = await api(`/api/webhook/${id}`, { method: "PUT", token: other.token, json: { isEnabled: false } });
      expect(res.status).toBe(404);
      expect((await res.json<{ error: string }>()).error).toBe("Webhook not found.");
    }
    expect((await storedWebhooks(owner.subscriberId))[0].isEnabled).toBe(true);
  });

  it("needs a token and the plan", async () => {
    const { webhook } = await subscriberWithWebhook();
    expect((await api(`/api/webhook/${webhook.webhookId}`, { method: "PUT", json: { isEnabled: false } })).status).toBe(401);
    const free = await createSubscriber({ plan: "Starter" });
    expect((await api(`/api/webhook/${webhook.webhookId}`, { method: "PUT", token: free.token, json: { isEnabled: false } })).status).toBe(403);
  });
});

describe("DELETE /api/webhook/{id}", () => {
  it("deletes the webhook and its deliveries", async () => {
    const { token, subscriberId, webhook } = await subscriberWithWebhook();
    await recordEvent(subscriberId, "backup.success");
    const res = await api(`/api/webhook/${webhook.webhookId}`, { method: "DELETE", token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Webhook deleted." });
    expect(await storedWebhooks(subscriberId)).toHaveLength(0);
    expect(await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhook.webhookId))).toHaveLength(0);
    expect((await api(`/api/webhook/${webhook.webhookId}`, { method: "DELETE", token })).status).toBe(404);
  });

  it("answers 404 for another subscriber's webhook and keeps it", async () => {
    const owner = await subscriberWithWebhook();
    const other = await createSubscriber({ plan: "Ultimate" });
    const res = await api(`/api/webhook/${owner.webhook.webhookId}`, { method: "DELETE", token: other.token });
    expect(res.status).toBe(404);
    expect(await storedWebhooks(owner.subscriberId)).toHaveLength(1);
    expect((await api(`/api/webhook/${owner.webhook.webhookId}`, { method: "DELETE" })).status).toBe(401);
  });
});

describe("POST /api/webhook/{id}/test", () => {
  it("records a webhook.test event for that webhook only and queues it", async () => {
    const { token, subscriberId, webhook } = await subscriberWithWebhook({ url: "http://127.0.0.1:9/unreachable" });
    const sibling = await (await api("/api/webhook", { token, json: { url: "https://hooks.example.com/all", events: VALID.events } })).json<{
      webhookId: string;
    }>();
    const res = await api(`/api/webhook/${webhook.webhookId}/test`, { method: "POST", token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Test event queued." });

    const [event] = await db().select().from(events).where(eq(events.subscriberId, subscriberId));
    expect(event).toMatchObject({ type: "webhook.test", data: { webhookId: webhook.webhookId } });
    const deliveries = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, event.id));
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ webhookId: webhook.webhookId, eventType: "webhook.test", status: "pending" });
    expect(deliveries[0].enqueuedAt).not.toBeNull();
    expect(deliveries.some((d) => d.webhookId === sibling.webhookId)).toBe(false);

    // The Worker's own queue consumer picks the message up and makes the first attempt (the port refuses it).
    await vi.waitFor(
      async () => {
        const [row] = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveries[0].id));
        expect(row.attempts).toBe(1);
        expect(row.lastError).toBeTruthy();
      },
      { timeout: 15_000, interval: 200 },
    );
  });

  it("refuses a disabled webhook with 409 and records nothing", async () => {
    const { token, subscriberId, webhook } = await subscriberWithWebhook();
    await api(`/api/webhook/${webhook.webhookId}`, { method: "PUT", token, json: { isEnabled: false } });
    const res = await api(`/api/webhook/${webhook.webhookId}/test`, { method: "POST", token });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "Webhook is disabled; enable it to send a test event.", code: "conflict" });
    expect(await db().select().from(events).where(eq(events.subscriberId, subscriberId))).toHaveLength(0);
  });

  it("allows 10 test events a minute per webhook, then 429 with Retry-After; another webhook has its own budget", async () => {
    time.freezeAt(T0);
    const { token, subscriberId, webhook } = await subscriberWithWebhook();
    const sibling = await (await api("/api/webhook", { token, json: VALID })).json<{ webhookId: string }>();
    for (let i = 0; i < 10; i++) {
      time.now = T0 + i * 1000;
      expect((await api(`/api/webhook/${webhook.webhookId}/test`, { method: "POST", token })).status).toBe(200);
    }
    const refused = await api(`/api/webhook/${webhook.webhookId}/test`, { method: "POST", token });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("51");
    expect((await api(`/api/webhook/${sibling.webhookId}/test`, { method: "POST", token })).status).toBe(200);
    expect(await db().select().from(events).where(eq(events.subscriberId, subscriberId))).toHaveLength(11);
    time.now = T0 + 60_000;
    expect((await api(`/api/webhook/${webhook.webhookId}/test`, { method: "POST", token })).status).toBe(200);
  });

  it("answers 404 for another subscriber's webhook, 401 without a token, 403 on a lower plan", async () => {
    const owner = await subscriberWithWebhook();
    const other = await createSubscriber({ plan: "Professional" });
    expect((await api(`/api/webhook/${owner.webhook.webhookId}/test`, { method: "POST", token: other.token })).status).toBe(404);
    expect((await api(`/api/webhook/${owner.webhook.webhookId}/test`, { method: "POST" })).status).toBe(401);
    const starter = await createSubscriber({ plan: "Starter" });
    expect((await api(`/api/webhook/${owner.webhook.webhookId}/test`, { method: "POST", token: starter.token })).status).toBe(403);
    expect(await db().select().from(events).where(eq(events.subscriberId, owner.subscriberId))).toHaveLength(0);
  });
});

describe("GET /api/webhook/{id}/deliveries", () => {
  it("pages the deliveries newest first with X-Total-Count and Link", async () => {
    const { token, subscriberId, webhook } = await subscriberWithWebhook();
    const recorded: string[] = [];
    for (let i = 0; i < 3; i++) recorded.push((await recordEvent(subscriberId, "backup.failure", { n: i })).eventId);

    const res = await api(`/api/webhook/${webhook.webhookId}/deliveries?pageSize=2`, { token });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-total-count")).toBe("3");
    expect(res.headers.get("link")).toContain('rel="next"');
    const page = await res.json<Record<string, unknown>[]>();
    expect(page).toHaveLength(2);
    expect(Object.keys(page[0]).sort()).toEqual(["attempts", "createdAt", "deliveryId", "event", "eventId", "lastAttemptAt", "responseStatus", "status"]);
    expect(page[0]).toMatchObject({ event: "backup.failure", status: "pending", attempts: 0, responseStatus: null, lastAttemptAt: null });

    const second = await api(`/api/webhook/${webhook.webhookId}/deliveries?page=2&pageSize=2`, { token });
    const rest = await second.json<{ eventId: string }[]>();
    expect(second.headers.get("link")).toContain('rel="prev"');
    expect([...page, ...rest].map((d) => d.eventId).sort()).toEqual([...recorded].sort());
  });

  it("refuses an out-of-range pageSize, another subscriber's webhook and a missing token", async () => {
    const { token, webhook } = await subscriberWithWebhook();
    expect((await api(`/api/webhook/${webhook.webhookId}/deliveries?pageSize=500`, { token })).status).toBe(400);
    const other = await createSubscriber({ plan: "Professional" });
    expect((await api(`/api/webhook/${webhook.webhookId}/deliveries`, { token: other.token })).status).toBe(404);
    expect((await api(`/api/webhook/${webhook.webhookId}/deliveries`)).status).toBe(401);
  });
});
