import { exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { browserSessions } from "../../../src/db/schema";
import { FAILED_CREDENTIAL_LIMITS, LOGIN_FAILURES } from "../../../src/services/rate-limit";
import { api, createSubscriber, db } from "../../helpers";
import { ORIGIN, STRONG_PASSWORD, linkToken, startSession } from "../../support/auth";
import { T0, time } from "../../support/manual-clock";

const LOGIN_FAILED = "Email or password is incorrect, or the email address is not confirmed.";

describe("POST /api/auth/session", () => {
  it("sets an HttpOnly SameSite=Strict cookie holding a session (not the JWT) and answers its expiry", async () => {
    const start = Date.parse("2026-11-27T10:00:00Z");
    time.freezeAt(start);
    const user = await createSubscriber();
    const { res, setCookie, cookie } = await startSession(user.email, user.password);
    expect(await res.json()).toEqual({ expiry: "2026-11-27T22:00:00Z" });
    expect(setCookie).toMatch(/^datasync_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/); // the test origin is http
    const [row] = await db().select().from(browserSessions).where(eq(browserSessions.userId, user.userId));
    expect(row.tokenHash).not.toContain(cookie.split("=")[1]);

    const account = await api("/api/account", { headers: { cookie } });
    expect(account.status).toBe(200);
    expect(await account.json()).toMatchObject({ email: user.email });
    expect(account.headers.get("ratelimit-limit")).toBe("60");
  });

  it("marks the cookie Secure when the service is reached over https", async () => {
    const user = await createSubscriber();
    const secure = await exports.default.fetch(
      new Request("https://app.example.com/api/auth/session", {
        method: "POST",
        headers: { "content-type": "application/json", origin: "https://app.example.com" },
        body: JSON.stringify({ email: user.email, password: user.password }),
      }),
    );
    expect(secure.status).toBe(200);
    expect(secure.headers.get("set-cookie")).toMatch(/; Secure/);
  });

  it("refuses wrong credentials with login's 401 and message, sets no cookie and stores nothing", async () => {
    const user = await createSubscriber();
    const res = await api("/api/auth/session", { json: { email: user.email, password: "wrong password!" }, headers: { origin: ORIGIN } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: LOGIN_FAILED });
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await db().select().from(browserSessions).where(eq(browserSessions.userId, user.userId))).toHaveLength(0);
  });

  it("answers a malformed body with 400 and a login from another site's page with 403", async () => {
    const bad = await api("/api/auth/session", { json: { email: "not an email" }, headers: { origin: ORIGIN } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "validation_failed" });
    const user = await createSubscriber();
    const cross = await api("/api/auth/session", { json: { email: user.email, password: user.password }, headers: { origin: "https://evil.example" } });
    expect(cross.status).toBe(403);
    expect(cross.headers.get("set-cookie")).toBeNull();
  });
});

// These run 10 or more scrypt verifications: more than the default 5 s on a busy machine.
describe("the login budgets", { timeout: 30_000 }, () => {
  it("share the email's attempts with POST /api/auth/login: after 10 failures either way, 429 even with the right password", async () => {
    time.freezeAt(T0);
    const user = await createSubscriber();
    const wrong = { email: user.email, password: "wrong password!!" };
    for (let i = 0; i < LOGIN_FAILURES.limit / 2; i++) {
      expect((await api("/api/auth/login", { json: wrong })).status).toBe(401);
      expect((await api("/api/auth/session", { json: wrong, headers: { origin: ORIGIN } })).status).toBe(401);
    }
    const locked = await api("/api/auth/session", { json: { email: user.email, password: user.password }, headers: { origin: ORIGIN } });
    expect(locked.status).toBe(429);
    expect(locked.headers.get("set-cookie")).toBeNull();
    expect((await api("/api/auth/login", { json: { email: user.email, password: user.password } })).status).toBe(429);
    expect(await db().select().from(browserSessions).where(eq(browserSessions.userId, user.userId))).toHaveLength(0);
  });

  it("count unknown session cookies against the client IP: 20 × 401, then 429 for that IP, a live cookie included", async () => {
    time.freezeAt(T0);
    const user = await createSubscriber();
    const { cookie } = await startSession(user.email, user.password);
    const ip = "198.51.100.7";
    const { limit } = FAILED_CREDENTIAL_LIMITS.sessionCookie;
    for (let i = 0; i < limit; i++) {
      expect((await api("/api/account", { headers: { cookie: `datasync_session=forged-${i}`, "CF-Connecting-IP": ip } })).status).toBe(401);
    }
    expect((await api("/api/account", { headers: { cookie: "datasync_session=forged-more", "CF-Connecting-IP": ip } })).status).toBe(429);
    expect((await api("/api/account", { headers: { cookie, "CF-Connecting-IP": ip } })).status).toBe(429);
    expect((await api("/api/account", { headers: { cookie, "CF-Connecting-IP": "198.51.100.8" } })).status).toBe(200);
  });
});

describe("requests authenticated by the session cookie", () => {
  it("need the service's own Origin on every method but GET and HEAD", async () => {
    const user = await createSubscriber({ plan: "Professional" });
    const { cookie } = await startSession(user.email, user.password);
    const body = { name: "Dashboard key" };

    const noOrigin = await api("/api/apikey", { json: body, headers: { cookie } });
    expect(noOrigin.status).toBe(403);
    expect(await noOrigin.json()).toMatchObject({ error: "Cross-origin request refused: the Origin header must be this service's origin." });
    const otherOrigin = await api("/api/apikey", { json: body, headers: { cookie, origin: "https://evil.example" } });
    expect(otherOrigin.status).toBe(403);
    expect(await (await api("/api/apikey", { headers: { cookie } })).json()).toEqual([]);

    const sameOrigin = await api("/api/apikey", { json: body, headers: { cookie, origin: ORIGIN } });
    expect(sameOrigin.status).toBe(200);
    expect(await sameOrigin.json()).toMatchObject({ name: "Dashboard key" });
    expect((await api("/api/apikey", { method: "HEAD", headers: { cookie } })).status).toBe(200);
  });

  it("bearer tokens keep working without any Origin", async () => {
    const user = await createSubscriber();
    const res = await api("/api/destination", { token: user.token, json: { name: "Disk", type: "LocalStorage", settings: { path: "/b" } } });
    expect(res.status).toBe(200);
  });

  it("are 401 with an unknown cookie, and with none", async () => {
    expect((await api("/api/account", { headers: { cookie: "datasync_session=forged" } })).status).toBe(401);
    const none = await api("/api/account");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("stop working when the session expires after 12 hours", async () => {
    const start = Date.parse("2026-11-27T10:00:00Z");
    time.freezeAt(start);
    const user = await createSubscriber();
    const { cookie } = await startSession(user.email, user.password);
    time.now = start + 12 * 60 * 60 * 1000 - 1000;
    expect((await api("/api/account", { headers: { cookie } })).status).toBe(200);
    time.now = start + 12 * 60 * 60 * 1000;
    expect((await api("/api/account", { headers: { cookie } })).status).toBe(401);
  });

  it("stop working after a password reset, like every earlier session", async () => {
    const user = await createSubscriber();
    const { cookie } = await startSession(user.email, user.password);
    await api("/api/auth/forgot-password", { json: { email: user.email } });
    const token = await linkToken(user.email, "/reset-password");
    expect((await api("/api/auth/reset-password", { json: { token, password: STRONG_PASSWORD } })).status).toBe(200);
    expect((await api("/api/account", { headers: { cookie } })).status).toBe(401);
  });
});

describe("DELETE /api/auth/session", () => {
  it("ends the session on the server and clears the cookie", async () => {
    const user = await createSubscriber();
    const { cookie } = await startSession(user.email, user.password);
    const res = await api("/api/auth/session", { method: "DELETE", headers: { cookie, origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Logged out." });
    expect(res.headers.get("set-cookie")).toMatch(/^datasync_session=;.*Max-Age=0/);
    // The old cookie value, replayed, is dead.
    expect((await api("/api/account", { headers: { cookie } })).status).toBe(401);
    const [row] = await db().select().from(browserSessions).where(eq(browserSessions.userId, user.userId));
    expect(row.endedAt).toBeInstanceOf(Date);
  });

  it("POST /api/auth/logout with the cookie ends that session too, like a token's", async () => {
    const user = await createSubscriber();
    const { cookie } = await startSession(user.email, user.password);
    const other = await startSession(user.email, user.password);
    const res = await api("/api/auth/logout", { method: "POST", headers: { cookie, origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect((await api("/api/account", { headers: { cookie } })).status).toBe(401);
    expect((await api("/api/account", { headers: { cookie: other.cookie } })).status).toBe(200);
  });

  it("refuses a cross-origin logout (403) and the session stays", async () => {
    const user = await createSubscriber();
    const { cookie } = await startSession(user.email, user.password);
    const res = await api("/api/auth/session", { method: "DELETE", headers: { cookie, origin: "https://evil.example" } });
    expect(res.status).toBe(403);
    expect((await api("/api/account", { headers: { cookie } })).status).toBe(200);
  });
});
