import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { emailTokens, users } from "../../../src/db/schema";
import { setClock } from "../../../src/lib/clock";
import { api, db } from "../../helpers";
import { emailsTo, linkToken, login, register, registerConfirmedAndLogIn, uniqueEmail } from "../../support/auth";

const RESET_REQUESTED = { message: "If that email exists, a reset link has been sent." };
const NEW_PASSWORD = "Copper-Kettle-Sings-7";

afterEach(() => setClock(null));

const forgot = (email: string) => api("/api/auth/forgot-password", { json: { email } });
const reset = (token: string, password: string) => api("/api/auth/reset-password", { json: { token, password } });

async function passwordHashOf(email: string) {
  const [user] = await db().select({ passwordHash: users.passwordHash }).from(users).where(eq(users.email, email));
  return user.passwordHash;
}

describe("POST /api/auth/forgot-password", () => {
  it("answers the same 200 for an unknown address and sends nothing", async () => {
    const email = uniqueEmail("nobody");
    const res = await forgot(email);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_REQUESTED);
    expect(await emailsTo(email)).toEqual([]);
  });

  it("emails a reset link valid for 1 hour to a known address, matched case-insensitively", async () => {
    const { email } = await registerConfirmedAndLogIn();
    const res = await forgot(email.toUpperCase());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(RESET_REQUESTED);
    const [mail] = await emailsTo(email);
    expect(mail.subject).toBe("Reset your DataSync password");
    await linkToken(email, "/reset-password");
    const [token] = await db().select().from(emailTokens).where(eq(emailTokens.purpose, "reset_password"));
    expect(token.expiresAt.getTime() - token.createdAt.getTime()).toBe(60 * 60 * 1000);
  });

  it("answers the same 200 for a malformed address (always 200, as the seed says) and sends nothing", async () => {
    for (const email of ["nope", "x@y.z"]) {
      const res = await api("/api/auth/forgot-password", { json: { email } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(RESET_REQUESTED);
      expect(await emailsTo(email)).toEqual([]);
    }
  });

  it("answers 400 for a body without an email", async () => {
    const res = await api("/api/auth/forgot-password", { json: { address: "jane@example.com" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "validation_failed", details: [{ path: "email" }] });
  });
});

describe("POST /api/auth/reset-password", () => {
  it("sets the new password, ends earlier sessions and works only once", async () => {
    const { email, password, token: oldSession } = await registerConfirmedAndLogIn();
    expect((await api("/api/account", { token: oldSession })).status).toBe(200);
    await forgot(email);
    const resetToken = await linkToken(email, "/reset-password");

    const res = await reset(resetToken, NEW_PASSWORD);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Password has been reset. You can now log in with the new password." });

    expect((await api("/api/account", { token: oldSession })).status).toBe(401);
    expect((await login(email, password)).status).toBe(401);
    const fresh = await login(email, NEW_PASSWORD);
    expect(fresh.status).toBe(200);
    const { token: newSession } = await fresh.json<{ token: string }>();
    expect((await api("/api/account", { token: newSession })).status).toBe(200);

    const again = await reset(resetToken, "Another-Fine-Password-9");
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: "Invalid or expired reset token." });
    expect((await login(email, NEW_PASSWORD)).status).toBe(200);
  });

  it("refuses a token older than 1 hour and keeps the old password", async () => {
    const start = Date.parse("2026-11-27T10:00:00Z");
    setClock(() => start);
    const { email, password } = await registerConfirmedAndLogIn();
    await forgot(email);
    const resetToken = await linkToken(email, "/reset-password");
    const before = await passwordHashOf(email);
    setClock(() => start + 60 * 60 * 1000 + 1000);
    const res = await reset(resetToken, NEW_PASSWORD);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "Invalid or expired reset token.", code: "bad_request" });
    expect(await passwordHashOf(email)).toBe(before);
    expect((await login(email, password)).status).toBe(200);
  });

  it("refuses a weak new password without using up the token", async () => {
    const { email } = await registerConfirmedAndLogIn();
    await forgot(email);
    const resetToken = await linkToken(email, "/reset-password");
    const before = await passwordHashOf(email);

    const common = await reset(resetToken, "Password123!");
    expect(common.status).toBe(400);
    expect(await common.json()).toMatchObject({ error: "Password is too common; choose one that is harder to guess." });
    const short = await reset(resetToken, "short");
    expect(short.status).toBe(400);
    expect(await short.json()).toMatchObject({ code: "validation_failed", details: [{ path: "password" }] });
    const ownEmail = await reset(resetToken, email);
    expect(ownEmail.status).toBe(400);
    expect(await passwordHashOf(email)).toBe(before);

    expect((await reset(resetToken, NEW_PASSWORD)).status).toBe(200);
  });

  it("uses up every outstanding reset link of the user", async () => {
    const { email } = await registerConfirmedAndLogIn();
    await forgot(email);
    const first = await linkToken(email, "/reset-password");
    await forgot(email);
    const second = await linkToken(email, "/reset-password");
    expect(second).not.toBe(first);
    expect((await reset(second, NEW_PASSWORD)).status).toBe(200);
    expect((await reset(first, "Another-Fine-Password-9")).status).toBe(400);
  });

  it("refuses a confirmation token and an unknown token", async () => {
    const { email } = await register();
    expect((await reset(await linkToken(email, "/confirm-email"), NEW_PASSWORD)).status).toBe(400);
    expect((await reset("unknown-token", NEW_PASSWORD)).status).toBe(400);
  });

  it("confirms the address of a user who never followed the confirmation link", async () => {
    const { email } = await register();
    await forgot(email);
    expect((await reset(await linkToken(email, "/reset-password"), NEW_PASSWORD)).status).toBe(200);
    expect((await login(email, NEW_PASSWORD)).status).toBe(200);
  });
});
