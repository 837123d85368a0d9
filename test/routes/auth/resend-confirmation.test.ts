import { describe, expect, it } from "vitest";
import { api } from "../../helpers";
import { emailsTo, linkToken, register, registerConfirmedAndLogIn, uniqueEmail } from "../../support/auth";
import { T0, time } from "../../support/manual-clock";

const RESENT = "If that email is registered and not yet confirmed, a new confirmation link has been sent.";
const resend = (email: unknown, headers: Record<string, string> = {}) => api("/api/auth/resend-confirmation", { json: { email }, headers });

describe("POST /api/auth/resend-confirmation", () => {
  it("emails a new link to an unconfirmed address; the new link confirms it", async () => {
    const account = await register();
    const res = await resend(account.email.toUpperCase());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: RESENT });
    const emails = await emailsTo(account.email);
    expect(emails).toHaveLength(2);
    expect(emails[0].subject).toBe("Confirm your DataSync account");
    const confirmed = await api("/api/auth/confirm-email", { json: { token: await linkToken(account.email, "/confirm-email") } });
    expect(confirmed.status).toBe(200);
  });

  it("answers the same 200 for an unknown address and a confirmed one, and emails neither", async () => {
    const unknown = uniqueEmail("nobody");
    const unknownRes = await resend(unknown);
    expect(unknownRes.status).toBe(200);
    expect(await unknownRes.json()).toEqual({ message: RESENT });
    expect(await emailsTo(unknown)).toHaveLength(0);

    const confirmed = await registerConfirmedAndLogIn();
    const before = (await emailsTo(confirmed.email)).length;
    const res = await resend(confirmed.email);
    expect(await res.json()).toEqual({ message: RESENT });
    expect(await emailsTo(confirmed.email)).toHaveLength(before);
  });

  it("refuses a body without an email (400)", async () => {
    const res = await api("/api/auth/resend-confirmation", { json: {} });
    expect(res.status).toBe(400);
    expect((await res.json<{ error: string }>()).error).toContain("email");
  });

  it("sends at most 3 an hour per address, known or not (429 with Retry-After), then again after the hour", async () => {
    time.freezeAt(T0);
    const account = await register();
    for (let i = 0; i < 3; i++) expect((await resend(account.email)).status).toBe(200);
    const limited = await resend(account.email);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("Retry-After"))).toBe(3600);
    expect(await emailsTo(account.email)).toHaveLength(4);
    const unknown = uniqueEmail("nobody");
    for (let i = 0; i < 3; i++) expect((await resend(unknown)).status).toBe(200);
    expect((await resend(unknown)).status).toBe(429);
    time.now = T0 + 60 * 60_000 + 1;
    expect((await resend(account.email)).status).toBe(200);
  });

  it("allows 30 requests a minute per client IP", async () => {
    time.freezeAt(T0);
    const ip = { "CF-Connecting-IP": "203.0.113.77" };
    for (let i = 0; i < 30; i++) expect((await resend(uniqueEmail("ip"), ip)).status).toBe(200);
    const limited = await resend(uniqueEmail("ip"), ip);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("60");
    expect((await resend(uniqueEmail("ip"), { "CF-Connecting-IP": "203.0.113.78" })).status).toBe(200);
  }, 30_000);
});
