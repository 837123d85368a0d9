import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { users } from "../../../src/db/schema";
import { setClock } from "../../../src/lib/clock";
import { api, db } from "../../helpers";
import { linkToken, login, register, registerConfirmedAndLogIn, uniqueEmail } from "../../support/auth";

const LOGIN_FAILED = "Email or password is incorrect, or the email address is not confirmed.";

afterEach(() => setClock(null));

const confirm = (token: string) => api("/api/auth/confirm-email", { json: { token } });

describe("POST /api/auth/confirm-email", () => {
  it("confirms the address once; the same link again is a 400", async () => {
    const { email } = await register();
    const token = await linkToken(email, "/confirm-email");
    const res = await confirm(token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Email confirmed. You can now log in." });
    const [user] = await db().select().from(users).where(eq(users.email, email));
    expect(user.emailConfirmedAt).toBeInstanceOf(Date);

    const again = await confirm(token);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: "Invalid or expired confirmation token.", code: "bad_request" });
  });

  it("refuses a link older than 24 hours and leaves the email unconfirmed", async () => {
    const start = Date.parse("2026-11-27T10:00:00Z");
    setClock(() => start);
    const { email } = await register();
    const token = await linkToken(email, "/confirm-email");
    setClock(() => start + 24 * 60 * 60 * 1000 + 1000);
    const res = await confirm(token);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "Invalid or expired confirmation token." });
    const [user] = await db().select().from(users).where(eq(users.email, email));
    expect(user.emailConfirmedAt).toBeNull();
  });

  it("refuses an unknown token and a missing one", async () => {
    const unknown = await confirm("not-a-real-token");
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: "Invalid or expired confirmation token." });
    const missing = await api("/api/auth/confirm-email", { json: {} });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ code: "validation_failed", details: [{ path: "token" }] });
  });

  it("does not accept a password-reset token as a confirmation token", async () => {
    const { email } = await register();
    await api("/api/auth/forgot-password", { json: { email } });
    const res = await confirm(await linkToken(email, "/reset-password"));
    expect(res.status).toBe(400);
  });
});

describe("POST /api/auth/login", () => {
  it("returns a 1-hour JWT and its expiry in ISO UTC, which opens authenticated endpoints", async () => {
    const start = Date.parse("2026-11-27T10:00:00.250Z");
    setClock(() => start);
    const { email, password } = await registerConfirmedAndLogIn();
    const res = await login(email.toUpperCase(), password);
    expect(res.status).toBe(200);
    const body = await res.json<{ token: string; expiry: string }>();
    expect(Object.keys(body).sort()).toEqual(["expiry", "token"]);
    expect(body.expiry).toBe("2026-11-27T11:00:00Z");
    expect(body.token.split(".")).toHaveLength(3);
    const account = await api("/api/account", { token: body.token });
    expect(account.status).toBe(200);
    expect(await account.json()).toMatchObject({ email });
  });

  it("answers wrong password, unknown email and unconfirmed email with the same 401", async () => {
    const confirmed = await registerConfirmedAndLogIn();
    const unconfirmed = await register();
    const attempts = [
      await login(confirmed.email, "Wrong-Password-123"),
      await login(uniqueEmail("nobody"), confirmed.password),
      await login(unconfirmed.email, unconfirmed.password),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      const body = await res.json<Record<string, unknown>>();
      expect({ error: body.error, code: body.code }).toEqual({ error: LOGIN_FAILED, code: "unauthorized" });
    }
  });

  it.each([
    ["no password", { email: "a@example.com" }, "password"],
    ["an empty password", { email: "a@example.com", password: "" }, "password"],
    ["an invalid email", { email: "jane", password: "whatever-password" }, "email"],
  ])("answers 400 with details for %s", async (_, json, path) => {
    const res = await api("/api/auth/login", { json });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "validation_failed", details: [{ path }] });
  });

  it("answers 415 for a body that is not declared as JSON", async () => {
    const res = await api("/api/auth/login", { body: "email=a@example.com&password=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: "unsupported_media_type" });
  });
});
