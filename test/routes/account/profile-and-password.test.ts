import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { subscribers, users } from "../../../src/db/schema";
import { issueAccessToken } from "../../../src/services/access-token";
import { api, createColleague, createSubscriber, db } from "../../helpers";
import { ORIGIN, emailsTo, linkToken, login, startSession } from "../../support/auth";
import { T0, time } from "../../support/manual-clock";

const NEW_PASSWORD = "Granite-Harbour-Lantern-7";
const update = (token: string | undefined, json: unknown) => api("/api/account", { method: "PUT", token, json });
const changePassword = (token: string | undefined, json: unknown) => api("/api/account/password", { token, json });

async function storedUser(userId: string) {
  const [row] = await db().select().from(users).where(eq(users.id, userId));
  return row;
}

async function storedOrganisation(subscriberId: string) {
  const [row] = await db().select({ organisationName: subscribers.organisationName }).from(subscribers).where(eq(subscribers.id, subscriberId));
  return row.organisationName;
}

describe("PUT /api/account", () => {
  it("changes the forename and the organisation name and returns the account", async () => {
    const { token, userId, subscriberId, email } = await createSubscriber();
    const res = await update(token, { forename: "  Janet ", organisationName: "Globex" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ userId, subscriberId, email, forename: "Janet", organisationName: "Globex", plan: "Free" });
    expect((await storedUser(userId)).forename).toBe("Janet");
    expect(await storedOrganisation(subscriberId)).toBe("Globex");
  });

  it("changes one field alone; null or blank clears the organisation name", async () => {
    const { token, subscriberId } = await createSubscriber();
    expect(await (await update(token, { organisationName: null })).json()).toMatchObject({ forename: "Jane", organisationName: null });
    expect(await storedOrganisation(subscriberId)).toBeNull();
    await update(token, { organisationName: "Initech" });
    expect(await (await update(token, { organisationName: "   " })).json()).toMatchObject({ organisationName: null });
    expect(await (await update(token, { forename: "Jo" })).json()).toMatchObject({ forename: "Jo", organisationName: null });
  });

  it("refuses an empty body, a blank forename, control characters and a long organisation name (400, nothing stored)", async () => {
    const { token, userId, subscriberId } = await createSubscriber();
    const empty = await update(token, {});
    expect(empty.status).toBe(400);
    expect((await empty.json<{ error: string }>()).error).toContain("Give forename, organisationName or both.");
    const blank = await update(token, { forename: " ", organisationName: "Globex" });
    expect(blank.status).toBe(400);
    expect((await blank.json<{ error: string }>()).error).toContain("Forename is required.");
    expect((await update(token, { forename: "Jane\nBcc: x" })).status).toBe(400);
    const long = await update(token, { organisationName: "x".repeat(201) });
    expect(long.status).toBe(400);
    expect((await long.json<{ error: string }>()).error).toContain("Organisation name must be at most 200 characters.");
    expect((await storedUser(userId)).forename).toBe("Jane");
    expect(await storedOrganisation(subscriberId)).toBe("Acme");
  });

  it("answers 401 without a token and changes only the caller's own subscriber and user", async () => {
    expect((await update(undefined, { forename: "X" })).status).toBe(401);
    const a = await createSubscriber();
    const colleague = await createColleague(a.subscriberId);
    const b = await createSubscriber();
    await update(a.token, { forename: "Alice", organisationName: "A Corp" });
    expect((await storedUser(colleague.userId)).forename).toBe("Sam");
    expect((await storedUser(b.userId)).forename).toBe("Jane");
    expect(await storedOrganisation(b.subscriberId)).toBe("Acme");
  });

  it("lets an API key rename the organisation and its creator", async () => {
    const { token, userId } = await createSubscriber({ plan: "Professional" });
    const { key } = await (await api("/api/apikey", { json: { name: "ci" }, token })).json<{ key: string }>();
    const res = await update(key, { forename: "Bot Owner", organisationName: "Keyed" });
    expect(res.status).toBe(200);
    expect((await storedUser(userId)).forename).toBe("Bot Owner");
  });
});

describe("POST /api/account/password", () => {
  it("changes the password, ends every other session and returns a fresh token for this one", async () => {
    time.freezeAt(T0);
    const { token, userId, subscriberId, email, password } = await createSubscriber();
    const { token: otherSession } = await issueAccessToken(env, { userId, subscriberId, generation: 0 }, new Date(T0));
    const colleague = await createColleague(subscriberId);

    const res = await changePassword(token, { currentPassword: password, newPassword: NEW_PASSWORD });
    expect(res.status).toBe(200);
    const body = await res.json<{ message: string; token: string; expiry: string }>();
    expect(body.message).toBe("Password changed. Other sessions have been logged out.");
    expect(body.expiry).toBe("2026-11-27T13:00:00Z");
    expect(res.headers.get("set-cookie")).toBeNull();

    expect((await api("/api/account", { token: otherSession })).status).toBe(401);
    expect((await api("/api/account", { token })).status).toBe(401);
    expect((await api("/api/account", { token: body.token })).status).toBe(200);
    expect((await api("/api/account", { token: colleague.token })).status).toBe(200);
    expect((await login(email, password)).status).toBe(401);
    expect((await login(email, NEW_PASSWORD)).status).toBe(200);
    expect((await emailsTo(email))[0].subject).toBe("Your DataSync password was changed");
  });

  it("uses up reset links sent before the change", async () => {
    const { token, email, password } = await createSubscriber();
    expect((await api("/api/auth/forgot-password", { json: { email } })).status).toBe(200);
    const resetToken = await linkToken(email, "/reset-password");
    expect((await changePassword(token, { currentPassword: password, newPassword: NEW_PASSWORD })).status).toBe(200);
    const reset = await api("/api/auth/reset-password", { json: { token: resetToken, password: "Another-Strong-Pass-9" } });
    expect(reset.status).toBe(400);
    expect((await login(email, NEW_PASSWORD)).status).toBe(200);
  });

  it("refuses a wrong current password (403 wrong_password) and a weak or missing new one (400); nothing changes", async () => {
    const { token, userId, email, password } = await createSubscriber();
    const before = (await storedUser(userId)).passwordHash;
    const wrong = await changePassword(token, { currentPassword: "not my password", newPassword: NEW_PASSWORD });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ code: "wrong_password", error: "The password is incorrect." });
    const weak = await changePassword(token, { currentPassword: password, newPassword: "short" });
    expect(weak.status).toBe(400);
    expect((await weak.json<{ error: string }>()).error).toContain("at least 10 characters");
    const same = await changePassword(token, { currentPassword: password, newPassword: email });
    expect(same.status).toBe(400);
    expect((await changePassword(token, { newPassword: NEW_PASSWORD })).status).toBe(400);
    const after = await storedUser(userId);
    expect(after.passwordHash).toBe(before);
    expect(after.sessionGeneration).toBe(0);
    expect((await api("/api/account", { token })).status).toBe(200);
  });

  it("answers 401 without a token and 403 for an API key", async () => {
    const { token, password } = await createSubscriber({ plan: "Professional" });
    expect((await changePassword(undefined, { currentPassword: password, newPassword: NEW_PASSWORD })).status).toBe(401);
    const { key } = await (await api("/api/apikey", { json: { name: "ci" }, token })).json<{ key: string }>();
    const res = await changePassword(key, { currentPassword: password, newPassword: NEW_PASSWORD });
    expect(res.status).toBe(403);
    expect((await res.json<{ error: string }>()).error).toBe("Changing the password needs a login session, not an API key.");
  });

  it("counts wrong current passwords toward the email's login lock-out (429 after 10)", async () => {
    time.freezeAt(T0);
    const { token, email, password } = await createSubscriber();
    for (let i = 0; i < 10; i++) {
      expect((await changePassword(token, { currentPassword: `guess-${i}-xxxxxx`, newPassword: NEW_PASSWORD })).status).toBe(403);
    }
    const locked = await changePassword(token, { currentPassword: password, newPassword: NEW_PASSWORD });
    expect(locked.status).toBe(429);
    expect((await login(email, password)).status).toBe(429);
  }, 60_000);
});

describe("POST /api/account/password with the dashboard's session cookie", () => {
  const changeWithCookie = (cookie: string, json: unknown) => api("/api/account/password", { json, headers: { cookie, origin: ORIGIN } });

  it("keeps this browser logged in with a new cookie ending when the old one would have; every other session ends", async () => {
    const start = Date.parse("2026-11-27T10:00:00Z");
    time.freezeAt(start);
    const { email, password, token } = await createSubscriber();
    const here = await startSession(email, password);
    const elsewhere = await startSession(email, password);
    time.now = start + 60 * 60 * 1000;

    const res = await changeWithCookie(here.cookie, { currentPassword: password, newPassword: NEW_PASSWORD });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^datasync_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toContain("Expires=Fri, 27 Nov 2026 22:00:00 GMT");
    const renewed = setCookie.split(";")[0];
    expect(renewed).not.toBe(here.cookie);

    expect((await api("/api/account", { headers: { cookie: renewed } })).status).toBe(200);
    expect((await api("/api/account", { method: "PUT", json: { forename: "Still Me" }, headers: { cookie: renewed, origin: ORIGIN } })).status).toBe(200);
    expect((await api("/api/account", { headers: { cookie: here.cookie } })).status).toBe(401);
    expect((await api("/api/account", { headers: { cookie: elsewhere.cookie } })).status).toBe(401);
    expect((await api("/api/account", { token })).status).toBe(401);
    time.now = start + 12 * 60 * 60 * 1000;
    expect((await api("/api/account", { headers: { cookie: renewed } })).status).toBe(401);
  });

  it("a wrong current password (403) or a weak new one (400) sets no cookie, and every session goes on", async () => {
    const { email, password, userId } = await createSubscriber();
    const here = await startSession(email, password);
    const elsewhere = await startSession(email, password);
    const wrong = await changeWithCookie(here.cookie, { currentPassword: "not my password", newPassword: NEW_PASSWORD });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ error: "The password is incorrect." });
    const weak = await changeWithCookie(here.cookie, { currentPassword: password, newPassword: "short" });
    expect(weak.status).toBe(400);
    for (const refused of [wrong, weak]) expect(refused.headers.get("set-cookie")).toBeNull();
    expect((await storedUser(userId)).sessionGeneration).toBe(0);
    for (const { cookie } of [here, elsewhere]) expect((await api("/api/account", { headers: { cookie } })).status).toBe(200);
  });

  it("answers 401 for an ended or unknown cookie and 403 without the service's Origin, changing nothing", async () => {
    const { email, password } = await createSubscriber();
    const ended = await startSession(email, password);
    await api("/api/auth/session", { method: "DELETE", headers: { cookie: ended.cookie, origin: ORIGIN } });
    const body = { currentPassword: password, newPassword: NEW_PASSWORD };
    for (const cookie of [ended.cookie, "datasync_session=forged"]) {
      const res = await changeWithCookie(cookie, body);
      expect(res.status).toBe(401);
      expect(res.headers.get("set-cookie")).toBeNull();
    }
    const live = await startSession(email, password);
    const crossSite = await api("/api/account/password", { json: body, headers: { cookie: live.cookie, origin: "https://evil.example" } });
    expect(crossSite.status).toBe(403);
    expect((await login(email, password)).status).toBe(200);
    expect((await api("/api/account", { headers: { cookie: live.cookie } })).status).toBe(200);
  });
});
