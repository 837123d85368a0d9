import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { apiKeys, notificationPreferences } from "../../../src/db/schema";
import { clock } from "../../../src/lib/clock";
import { sha256Hex } from "../../../src/lib/crypto";
import { issueAccessToken } from "../../../src/services/access-token";
import { issueUnsubscribeToken } from "../../../src/services/notification";
import { api, createColleague, createSubscriber, db } from "../../helpers";

const PATH = "/api/account/notifications";
const ALL_ON = { backupFailure: true, anomaly: true, agentOffline: true, weeklyReport: true };
const storedPreferences = async (userId: string) => db().select().from(notificationPreferences).where(eq(notificationPreferences.userId, userId));

describe("GET / PUT /api/account/notifications", () => {
  it("every kind is on by default, for every plan", async () => {
    const { token } = await createSubscriber({ plan: "Free" });
    const res = await api(PATH, { token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(ALL_ON);
  });

  it("PUT changes the switches given, keeps the others, and is per user", async () => {
    const { token, subscriberId } = await createSubscriber();
    const colleague = await createColleague(subscriberId);
    const res = await api(PATH, { method: "PUT", token, json: { weeklyReport: false, anomaly: false } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ...ALL_ON, weeklyReport: false, anomaly: false });
    const again = await api(PATH, { method: "PUT", token, json: { anomaly: true } });
    expect(await again.json()).toEqual({ ...ALL_ON, weeklyReport: false });
    expect(await (await api(PATH, { token })).json()).toEqual({ ...ALL_ON, weeklyReport: false });
    expect(await (await api(PATH, { token: colleague.token })).json()).toEqual(ALL_ON);
  });

  it("works with an API key (the key creator's choices); 403 for a key whose creator is gone", async () => {
    const { token, subscriberId } = await createSubscriber({ plan: "Professional" });
    const { key } = await (await api("/api/apikey", { json: { name: "k" }, token })).json<{ key: string }>();
    expect((await api(PATH, { method: "PUT", token: key, json: { agentOffline: false } })).status).toBe(200);
    expect(await (await api(PATH, { token })).json()).toEqual({ ...ALL_ON, agentOffline: false });

    const orphan = "ds_live_orphan-key-for-notifications-0123456789abcdef";
    await db().insert(apiKeys).values({ subscriberId, createdByUserId: null, name: "orphan", prefix: orphan.slice(0, 12), keyHash: await sha256Hex(orphan), createdAt: new Date() });
    const res = await api(PATH, { token: orphan });
    expect(res.status).toBe(403);
    expect((await res.json<{ error: string }>()).error).toMatch(/belong to a user/);
  });

  it("400 for bad input, and nothing is stored", async () => {
    const { token, userId } = await createSubscriber();
    const bad: [unknown, string][] = [
      [{ backupFailure: "no" }, "backupFailure"],
      [{ backupFailure: false, sms: true }, "sms"],
      [{}, "at least one"],
      [[], ""],
      [null, ""],
    ];
    for (const [json, hint] of bad) {
      const res = await api(PATH, { method: "PUT", token, json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      const body = await res.json<{ error: string; code: string; details?: unknown[] }>();
      expect(body.code).toBe("validation_failed");
      expect(JSON.stringify(body)).toContain(hint);
    }
    const notJson = await api(PATH, { method: "PUT", token, body: "backupFailure=false", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(notJson.status).toBe(415);
    expect(await storedPreferences(userId)).toEqual([]);
  });

  it("401 without a token or with a bad one", async () => {
    expect((await api(PATH)).status).toBe(401);
    expect((await api(PATH, { method: "PUT", json: { anomaly: false } })).status).toBe(401);
    expect((await api(PATH, { token: "eyJhbGciOiJIUzI1NiJ9.e30.x" })).status).toBe(401);
  });
});

describe("one-click unsubscribe", () => {
  const unsubscribePath = (token: string) => `${PATH}/unsubscribe?token=${encodeURIComponent(token)}`;

  it("GET shows what the link turns off and changes nothing; POST (RFC 8058 form) turns off that kind only", async () => {
    const { userId, email, token } = await createSubscriber();
    const link = unsubscribePath(await issueUnsubscribeToken(env, userId, "backupFailure", clock.now()));

    const page = await api(link);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain(`Stop sending failed backup emails to ${email}?`);
    expect(html).toContain("<button type=\"submit\">Unsubscribe</button>");
    expect(await storedPreferences(userId)).toEqual([]);

    const res = await api(link, { method: "POST", body: "List-Unsubscribe=One-Click", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "You will no longer receive failed backup emails.", kind: "backupFailure" });
    expect(await (await api(PATH, { token })).json()).toEqual({ ...ALL_ON, backupFailure: false });
  });

  it("a link works once per kind: using it again changes nothing, and another kind's link is needed for that kind", async () => {
    const { userId, token } = await createSubscriber();
    const weekly = unsubscribePath(await issueUnsubscribeToken(env, userId, "weeklyReport", clock.now()));
    expect((await api(weekly, { method: "POST" })).status).toBe(200);
    const again = await api(weekly, { method: "POST" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ message: "You were already unsubscribed from weekly backup summary emails.", kind: "weeklyReport" });
    expect(await (await api(PATH, { token })).json()).toEqual({ ...ALL_ON, weeklyReport: false });

    const anomaly = unsubscribePath(await issueUnsubscribeToken(env, userId, "anomaly", clock.now()));
    const html = await api(anomaly, { method: "POST", headers: { accept: "text/html" } });
    expect(html.status).toBe(200);
    expect(await html.text()).toContain("You will no longer receive backup anomaly emails.");
    expect(await (await api(PATH, { token })).json()).toEqual({ ...ALL_ON, weeklyReport: false, anomaly: false });
  });

  it("refuses bad tokens (forged, tampered, expired, an access token, a missing one) and stores nothing", async () => {
    const { userId, subscriberId } = await createSubscriber();
    const now = clock.now();
    const valid = await issueUnsubscribeToken(env, userId, "anomaly", now);
    const forged = await new SignJWT({ kind: "anomaly" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(userId)
      .setIssuer(env.JWT_ISSUER)
      .setAudience("datasync-unsubscribe")
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(env.JWT_SECRET));
    const expired = await issueUnsubscribeToken(env, userId, "anomaly", new Date(now.getTime() - 400 * 24 * 60 * 60_000));
    const { token: accessToken } = await issueAccessToken(env, { userId, subscriberId, generation: 0 }, now);
    const tampered = `${valid.slice(0, -2)}${valid.endsWith("AA") ? "BB" : "AA"}`;
    for (const token of [forged, expired, accessToken, tampered, "not-a-token"]) {
      for (const method of ["GET", "POST"]) {
        const res = await api(unsubscribePath(token), { method });
        expect(res.status, `${method} ${token.slice(0, 20)}`).toBe(400);
        expect((await res.json<{ error: string }>()).error).toBe("This unsubscribe link is invalid or has expired.");
      }
    }
    const missing = await api(`${PATH}/unsubscribe`, { method: "POST" });
    expect(missing.status).toBe(400);
    expect(await storedPreferences(userId)).toEqual([]);
  });
});
