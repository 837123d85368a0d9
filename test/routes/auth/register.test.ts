import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { emailTokens, outboxEmails, subscribers, users } from "../../../src/db/schema";
import { sha256Hex } from "../../../src/lib/crypto";
import { api, db } from "../../helpers";
import { STRONG_PASSWORD, emailsTo, linkToken, register, uniqueEmail } from "../../support/auth";

const countOf = async (table: typeof users | typeof subscribers | typeof emailTokens | typeof outboxEmails) =>
  (await db().select({ n: sql<number>`count(*)` }).from(table))[0].n;

/** Nothing at all was written: no subscriber, user, token or email. */
async function expectNothingStored(action: () => Promise<void>) {
  const before = await Promise.all([countOf(subscribers), countOf(users), countOf(emailTokens), countOf(outboxEmails)]);
  await action();
  expect(await Promise.all([countOf(subscribers), countOf(users), countOf(emailTokens), countOf(outboxEmails)])).toEqual(before);
}

async function expect400(json: unknown, error: string | RegExp) {
  const res = await api("/api/auth/register", { json });
  expect(res.status).toBe(400);
  const body = await res.json<{ error: string; code: string }>();
  expect(body.error).toMatch(error);
  return body;
}

describe("POST /api/auth/register", () => {
  it("creates a Free subscriber and an unconfirmed user, and emails a 24-hour confirmation link", async () => {
    const email = uniqueEmail("Jane.Doe").replace("jane", "Jane");
    const res = await api("/api/auth/register", {
      json: { forename: "Jane", email, password: "SecureP@ss123", organisationName: "Acme Corp" },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Registration successful. Please check your email to confirm your account." });

    const [user] = await db().select().from(users).where(eq(users.email, email.toLowerCase()));
    expect(user).toMatchObject({ forename: "Jane", emailConfirmedAt: null, sessionGeneration: 0 });
    expect(user.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(user.passwordHash).not.toContain("SecureP@ss123");
    const [subscriber] = await db().select().from(subscribers).where(eq(subscribers.id, user.subscriberId));
    expect(subscriber).toMatchObject({ plan: "Free", organisationName: "Acme Corp" });

    const [mail] = await emailsTo(email);
    expect(mail.to).toBe(email.toLowerCase());
    expect(mail.subject).toBe("Confirm your DataSync account");
    expect(mail.text).toContain(`${env.PUBLIC_URL}/confirm-email?token=`);
    const token = await linkToken(email, "/confirm-email");
    const [stored] = await db().select().from(emailTokens).where(eq(emailTokens.userId, user.id));
    expect(stored.purpose).toBe("confirm_email");
    expect(stored.tokenHash).toBe(await sha256Hex(token));
    expect(stored.expiresAt.getTime() - stored.createdAt.getTime()).toBe(24 * 60 * 60 * 1000);
  });

  it.each([
    ["absent", undefined],
    ["blank", "   "],
  ])("leaves organisationName null when it is %s", async (_, organisationName) => {
    const { email } = await register({ organisationName });
    const [row] = await db()
      .select({ organisationName: subscribers.organisationName })
      .from(users)
      .innerJoin(subscribers, eq(subscribers.id, users.subscriberId))
      .where(eq(users.email, email));
    expect(row.organisationName).toBeNull();
  });

  it("refuses an email that is taken, compared case-insensitively, and stores nothing", async () => {
    const { email } = await register();
    await expectNothingStored(async () => {
      await expect400({ forename: "Eve", email: email.toUpperCase(), password: STRONG_PASSWORD }, "An account with this email address already exists.");
    });
  });

  it.each([
    ["shorter than 10 characters", "Sh0rt!pw", /at least 10 characters/],
    ["a common password", "password1234", /too common/],
    ["a common password padded with digits and symbols", "Password2026!", /too common/],
    ["a keyboard walk", "qwertyuiop", /too common/],
    ["all digits in sequence", "1234567890", /too common/],
    ["one character repeated", "zzzzzzzzzzzz", /too common/],
    ["longer than 256 characters", "x".repeat(257), /at most 256 characters/],
  ])("refuses a password that is %s and stores nothing", async (_, password, error) => {
    await expectNothingStored(async () => {
      await expect400({ forename: "Jane", email: uniqueEmail(), password }, error);
    });
  });

  it("refuses the email address itself, or its local part, as the password", async () => {
    const email = `longlocalpart-${crypto.randomUUID().slice(0, 7)}7@example.com`;
    const local = email.split("@")[0];
    await expectNothingStored(async () => {
      await expect400({ forename: "Jane", email, password: email.toUpperCase() }, "Password must not be your email address.");
      await expect400({ forename: "Jane", email, password: local }, "Password must not be your email address.");
      await expect400({ forename: "Jane", email, password: `${local}!!` }, "Password must not be your email address.");
    });
  });

  it.each([
    ["no forename", { email: "a@example.com", password: STRONG_PASSWORD }, "forename"],
    ["a blank forename", { forename: "   ", email: "a@example.com", password: STRONG_PASSWORD }, "forename"],
    ["a forename with a line break", { forename: "Jane\nVisit https://evil.example", email: "a@example.com", password: STRONG_PASSWORD }, "forename"],
    ["an invalid email", { forename: "Jane", email: "not-an-email", password: STRONG_PASSWORD }, "email"],
    ["a password that is not a string", { forename: "Jane", email: "a@example.com", password: 1234567890123 }, "password"],
    ["an array instead of an object", [], ""],
  ])("answers 400 with details for %s, and stores nothing", async (_, json, path) => {
    await expectNothingStored(async () => {
      const body = await expect400(json, /^Invalid request body/);
      expect(body.code).toBe("validation_failed");
      expect((body as unknown as { details: { path: string }[] }).details[0].path).toBe(path);
    });
  });

  it("answers 400 for malformed JSON and stores nothing", async () => {
    await expectNothingStored(async () => {
      const res = await api("/api/auth/register", { body: '{"forename": "Jane",', headers: { "content-type": "application/json" } });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "bad_request", error: expect.any(String) });
    });
  });
});
