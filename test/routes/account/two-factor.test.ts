import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { recoveryCodes, users } from "../../../src/db/schema";
import { api, createSubscriber, db } from "../../helpers";
import { login } from "../../support/auth";
import { T0, time } from "../../support/manual-clock";
import { totpCode, turnOnTwoFactor } from "../../support/two-factor";

const loginWith = (email: string, password: string, otp?: string) => api("/api/auth/login", { json: { email, password, otp } });

async function storedUser(userId: string) {
  const [row] = await db().select().from(users).where(eq(users.id, userId));
  return row;
}

async function apiKeyOf(token: string) {
  const res = await api("/api/apikey", { json: { name: "ci" }, token });
  expect(res.status).toBe(200);
  return (await res.json<{ key: string }>()).key;
}

describe("POST /api/account/2fa/setup and /enable", () => {
  it("returns a base32 secret and its otpauth URL; the secret is stored sealed, and 2FA stays off until enabled", async () => {
    time.freezeAt(T0);
    const { token, userId, email, password } = await createSubscriber();
    const res = await api("/api/account/2fa/setup", { method: "POST", token });
    expect(res.status).toBe(200);
    const { secret, otpauthUrl } = await res.json<{ secret: string; otpauthUrl: string }>();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const url = new URL(otpauthUrl);
    expect(url.protocol).toBe("otpauth:");
    expect(url.searchParams.get("secret")).toBe(secret);
    expect(url.searchParams.get("issuer")).toBe("DataSync");
    expect(url.searchParams.get("digits")).toBe("6");
    expect(url.searchParams.get("period")).toBe("30");
    expect(decodeURIComponent(url.pathname)).toContain(email);

    const stored = await storedUser(userId);
    expect(stored.totpSecret).toMatch(/^v2\./);
    expect(stored.totpSecret).not.toContain(secret);
    expect(stored.totpEnabledAt).toBeNull();
    // Pending setup does not change login.
    expect((await login(email, password)).status).toBe(200);
  });

  it("enables with a valid code and returns 10 distinct recovery codes, stored hashed only", async () => {
    time.freezeAt(T0);
    const { token, userId } = await createSubscriber();
    const { recoveryCodes: codes } = await turnOnTwoFactor(token);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    expect((await storedUser(userId)).totpEnabledAt).toEqual(new Date(T0));
    const rows = await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, userId));
    expect(rows).toHaveLength(10);
    const stored = JSON.stringify(rows);
    for (const code of codes) expect(stored).not.toContain(code);
  });

  it("refuses a wrong code (400, 2FA stays off), a malformed one, enable without setup and setup when on (409)", async () => {
    time.freezeAt(T0);
    const { token, userId } = await createSubscriber();
    expect((await api("/api/account/2fa/enable", { json: { code: "123456" }, token })).status).toBe(409);
    const { secret } = await (await api("/api/account/2fa/setup", { method: "POST", token })).json<{ secret: string }>();

    const wrong = await api("/api/account/2fa/enable", { json: { code: totpCode(secret, T0 + 5 * 60_000) }, token });
    expect(wrong.status).toBe(400);
    expect((await wrong.json<{ error: string }>()).error).toBe("The code is not valid for the secret being set up.");
    const malformed = await api("/api/account/2fa/enable", { json: { code: "12ab" }, token });
    expect(malformed.status).toBe(400);
    expect((await malformed.json<{ error: string }>()).error).toContain("code must be the 6 digits");
    expect((await storedUser(userId)).totpEnabledAt).toBeNull();
    expect(await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, userId))).toHaveLength(0);

    expect((await api("/api/account/2fa/enable", { json: { code: totpCode(secret) }, token })).status).toBe(200);
    expect((await api("/api/account/2fa/setup", { method: "POST", token })).status).toBe(409);
    expect((await api("/api/account/2fa/enable", { json: { code: totpCode(secret) }, token })).status).toBe(409);
  });

  it("needs a login session: 401 without a token, 403 with an API key", async () => {
    const { token } = await createSubscriber({ plan: "Professional" });
    const key = await apiKeyOf(token);
    expect((await api("/api/account/2fa/setup", { method: "POST" })).status).toBe(401);
    const withKey = await api("/api/account/2fa/setup", { method: "POST", token: key });
    expect(withKey.status).toBe(403);
    expect((await withKey.json<{ error: string }>()).error).toBe("Setting up two-factor authentication needs a login session, not an API key.");
    expect((await api("/api/account/2fa/enable", { json: { code: "123456" }, token: key })).status).toBe(403);
    expect((await api("/api/account/2fa", { method: "DELETE", json: { code: "123456" }, token: key })).status).toBe(403);
  });
});

describe("POST /api/auth/login with 2FA on", () => {
  it("answers 401 otp_required without otp or with a wrong one, and a token with the current code", async () => {
    time.freezeAt(T0);
    const { token, email, password } = await createSubscriber();
    const { secret } = await turnOnTwoFactor(token);
    time.now = T0 + 60_000;

    const missing = await loginWith(email, password);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("WWW-Authenticate")).toBe("Bearer");
    expect(await missing.json()).toMatchObject({ code: "otp_required", error: expect.stringContaining("Two-factor authentication is on") });
    const wrong = await loginWith(email, password, totpCode(secret, T0 + 10 * 60_000));
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ code: "otp_required", error: "The one-time code is not valid, or was already used." });
    // A wrong password says nothing about 2FA.
    const badPassword = await loginWith(email, "wrong password!", totpCode(secret));
    expect(await badPassword.json()).toMatchObject({ code: "unauthorized" });

    const ok = await loginWith(email, password, totpCode(secret));
    expect(ok.status).toBe(200);
    const session = (await ok.json<{ token: string }>()).token;
    expect((await api("/api/account", { token: session })).status).toBe(200);
  });

  it("accepts a code once: a replay in the same 30 s window, and an older code after it, are refused", async () => {
    time.freezeAt(T0);
    const { token, email, password } = await createSubscriber();
    const { secret } = await turnOnTwoFactor(token);
    time.now = T0 + 30_000;
    const code = totpCode(secret);
    expect((await loginWith(email, password, code)).status).toBe(200);
    time.now = T0 + 40_000;
    const replay = await loginWith(email, password, code);
    expect(replay.status).toBe(401);
    expect((await replay.json<{ code: string }>()).code).toBe("otp_required");
    // The next window's code works; the previous one (still within the drift allowance) no longer does.
    time.now = T0 + 60_000;
    expect((await loginWith(email, password, totpCode(secret))).status).toBe(200);
    expect((await loginWith(email, password, totpCode(secret, T0 + 30_000))).status).toBe(401);
  });

  it("accepts a recovery code once, in any case and without its hyphens", async () => {
    time.freezeAt(T0);
    const { token, email, password, userId } = await createSubscriber();
    const { recoveryCodes: codes } = await turnOnTwoFactor(token);
    expect((await loginWith(email, password, codes[3].toUpperCase().replaceAll("-", ""))).status).toBe(200);
    const again = await loginWith(email, password, codes[3]);
    expect(again.status).toBe(401);
    expect((await again.json<{ code: string }>()).code).toBe("otp_required");
    const used = await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, userId));
    expect(used.filter((r) => r.usedAt !== null)).toHaveLength(1);
    expect((await loginWith(email, password, codes[4])).status).toBe(200);
  });

  it("counts code attempts toward the email's lock-out: after 10 failures even the right code is 429", async () => {
    time.freezeAt(T0);
    const { token, email, password } = await createSubscriber();
    const { secret } = await turnOnTwoFactor(token);
    for (let i = 0; i < 10; i++) expect((await loginWith(email, password, "000000")).status).toBe(401);
    const locked = await loginWith(email, password, totpCode(secret));
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    time.now = T0 + 15 * 60_000 + 1000;
    expect((await loginWith(email, password, totpCode(secret))).status).toBe(200);
  }, 60_000);
});

describe("POST /api/auth/login with otp, 2FA off", () => {
  it("ignores an otp when 2FA is off, and refuses a blank or oversized one (400)", async () => {
    const { email, password } = await createSubscriber();
    expect((await loginWith(email, password, "123456")).status).toBe(200);
    const blank = await loginWith(email, password, " ");
    expect(blank.status).toBe(400);
    expect((await blank.json<{ error: string }>()).error).toContain("otp must not be empty.");
    expect((await loginWith(email, password, "x".repeat(65))).status).toBe(400);
  });
});

describe("DELETE /api/account/2fa", () => {
  it("turns 2FA off with a current code: login needs no otp again, the secret and recovery codes are gone", async () => {
    time.freezeAt(T0);
    const { token, email, password, userId } = await createSubscriber();
    const { secret } = await turnOnTwoFactor(token);
    time.now = T0 + 30_000;
    const res = await api("/api/account/2fa", { method: "DELETE", json: { code: totpCode(secret) }, token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Two-factor authentication is off." });
    const stored = await storedUser(userId);
    expect(stored).toMatchObject({ totpSecret: null, totpEnabledAt: null, totpLastStep: null });
    expect(await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, userId))).toHaveLength(0);
    expect((await login(email, password)).status).toBe(200);
  });

  it("turns 2FA off with a recovery code", async () => {
    time.freezeAt(T0);
    const { token, userId } = await createSubscriber();
    const { recoveryCodes: codes } = await turnOnTwoFactor(token);
    expect((await api("/api/account/2fa", { method: "DELETE", json: { recoveryCode: codes[0] }, token })).status).toBe(200);
    expect((await storedUser(userId)).totpEnabledAt).toBeNull();
  });

  it("refuses a wrong code (403 invalid_otp, 2FA stays on), a body with both or neither (400), and when 2FA is off (409)", async () => {
    time.freezeAt(T0);
    const { token, userId } = await createSubscriber();
    expect((await api("/api/account/2fa", { method: "DELETE", json: { code: "123456" }, token })).status).toBe(409);
    const { secret, recoveryCodes: codes } = await turnOnTwoFactor(token);
    const wrong = await api("/api/account/2fa", { method: "DELETE", json: { recoveryCode: "aaaa-bbbb-cccc-dddd" }, token });
    expect(wrong.status).toBe(403);
    expect((await wrong.json<{ code: string }>()).code).toBe("invalid_otp");
    const both = await api("/api/account/2fa", { method: "DELETE", json: { code: totpCode(secret), recoveryCode: codes[0] }, token });
    expect(both.status).toBe(400);
    expect((await both.json<{ error: string }>()).error).toContain("Give either code or recoveryCode.");
    expect((await api("/api/account/2fa", { method: "DELETE", json: {}, token })).status).toBe(400);
    expect((await storedUser(userId)).totpEnabledAt).not.toBeNull();
  });

  it("is per user: another subscriber's session cannot see or change this user's 2FA", async () => {
    time.freezeAt(T0);
    const owner = await createSubscriber();
    const { secret } = await turnOnTwoFactor(owner.token);
    const other = await createSubscriber();
    time.now = T0 + 30_000;
    // The other user has no 2FA: 409, and the owner's stays on.
    expect((await api("/api/account/2fa", { method: "DELETE", json: { code: totpCode(secret) }, token: other.token })).status).toBe(409);
    expect((await storedUser(owner.userId)).totpEnabledAt).not.toBeNull();
  });
});
