import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { logMessages, outboxEmails, subscribers } from "../../../src/db/schema";
import { app } from "../../../src/app";
import { setClock } from "../../../src/lib/clock";
import { OUTBOX_RETENTION_MS, sendEmail } from "../../../src/services/email";
import { CRON, scheduled } from "../../../src/scheduled";
import { adminToken, api, createSubscriber, db, strongSecrets } from "../../helpers";
import { uniqueEmail } from "../../support/auth";

afterEach(() => {
  setClock(null);
  vi.restoreAllMocks();
});

const setPlan = (id: string, json: unknown, token = adminToken()) =>
  api(`/api/admin/subscriber/${id}/plan`, { method: "PUT", json, token });

const planOf = async (id: string) => (await db().select({ plan: subscribers.plan }).from(subscribers).where(eq(subscribers.id, id)))[0].plan;

describe("PUT /api/admin/subscriber/{id}/plan", () => {
  it("changes the plan, answers {subscriberId, plan} and records it in the subscriber's log", async () => {
    const { subscriberId, token } = await createSubscriber();
    const res = await setPlan(subscriberId, { plan: "Professional" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ subscriberId, plan: "Professional" });
    expect(await planOf(subscriberId)).toBe("Professional");
    const logs = await db().select().from(logMessages).where(and(eq(logMessages.subscriberId, subscriberId), eq(logMessages.source, "platform")));
    expect(logs.map((l) => l.message)).toEqual(["Plan changed from Free to Professional."]);
    expect(await (await api("/api/account", { token })).json()).toMatchObject({ plan: "Professional", limits: { requestsPerMinute: 300 } });
  });

  it("404 for an unknown subscriber", async () => {
    const res = await setPlan(crypto.randomUUID(), { plan: "Starter" });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: "not_found", error: "Subscriber not found." });
  });

  it("400 for an unknown plan or no plan, and the plan stays", async () => {
    const { subscriberId } = await createSubscriber({ plan: "Starter" });
    for (const json of [{ plan: "Enterprise" }, { plan: "free" }, {}]) {
      const res = await setPlan(subscriberId, json);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "validation_failed", details: [{ path: "plan" }] });
    }
    expect(await planOf(subscriberId)).toBe("Starter");
  });

  it("401 without the operator token, with a wrong one, and with a user's session", async () => {
    const { subscriberId, token } = await createSubscriber();
    for (const bad of [undefined, "wrong-admin-token", `${adminToken()}x`, token]) {
      const res = await api(`/api/admin/subscriber/${subscriberId}/plan`, { method: "PUT", json: { plan: "Ultimate" }, token: bad });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
    }
    expect(await planOf(subscriberId)).toBe("Free");
  });
});

describe("GET /api/admin/outbox", () => {
  it("lists emails newest first, filtered by recipient case-insensitively", async () => {
    const start = Date.parse("2026-11-27T10:00:00Z");
    const to = uniqueEmail("outbox");
    setClock(() => start);
    await sendEmail(env, db(), { to, subject: "first", text: "one" });
    setClock(() => start + 1000);
    await sendEmail(env, db(), { to, subject: "second", text: "two" });
    await sendEmail(env, db(), { to: uniqueEmail("someone-else"), subject: "other", text: "x" });

    const res = await api(`/api/admin/outbox?to=${encodeURIComponent(to.toUpperCase())}`, { token: adminToken() });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-total-count")).toBe("2");
    const emails = await res.json<Record<string, string>[]>();
    expect(emails).toEqual([
      { emailId: expect.any(String), to, subject: "second", text: "two", createdAt: "2026-11-27T10:00:01Z" },
      { emailId: expect.any(String), to, subject: "first", text: "one", createdAt: "2026-11-27T10:00:00Z" },
    ]);
  });

  it("paginates with X-Total-Count and Link headers", async () => {
    const to = uniqueEmail("paged");
    for (const subject of ["a", "b", "c"]) await sendEmail(env, db(), { to, subject, text: subject });
    const page = (q: string) => api(`/api/admin/outbox?to=${to}&${q}`, { token: adminToken() });

    const first = await page("pageSize=2");
    expect(first.headers.get("x-total-count")).toBe("3");
    expect((await first.json<{ subject: string }[]>()).map((e) => e.subject)).toEqual(["c", "b"]);
    expect(first.headers.get("link")).toBe(`<http://localhost/api/admin/outbox?to=${encodeURIComponent(to)}&pageSize=2&page=2>; rel="next"`);

    const second = await page("pageSize=2&page=2");
    expect((await second.json<{ subject: string }[]>()).map((e) => e.subject)).toEqual(["a"]);
    expect(second.headers.get("link")).toBe(`<http://localhost/api/admin/outbox?to=${encodeURIComponent(to)}&pageSize=2&page=1>; rel="prev"`);

    for (const bad of ["pageSize=201", "pageSize=0", "page=0", "page=abc"]) {
      const res = await page(bad);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "validation_failed" });
    }
  });

  it("401 without the operator token or with a user's session", async () => {
    const { token } = await createSubscriber();
    expect((await api("/api/admin/outbox")).status).toBe(401);
    expect((await api("/api/admin/outbox", { token })).status).toBe(401);
  });
});

describe("sendEmail", () => {
  it("without a provider: stores the email and prints it, nothing goes over the network", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const to = uniqueEmail("console");
    const { emailId } = await sendEmail(env, db(), { to, subject: "Hello", text: "Body text" });
    const [stored] = await db().select().from(outboxEmails).where(eq(outboxEmails.id, emailId));
    expect(stored).toMatchObject({ to, subject: "Hello", text: "Body text" });
    expect(log.mock.calls.flat().join("\n")).toContain(`To: ${to}\nSubject: Hello\n\nBody text`);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("with EMAIL_API_URL and EMAIL_API_KEY: also POSTs {from, to, subject, text} with the key as bearer", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response("{}", { status: 200 }));
    vi.spyOn(console, "log").mockImplementation(() => {});
    const providerEnv = { ...env, EMAIL_API_URL: "https://mail.example/v1/send", EMAIL_API_KEY: "provider-key" };
    const to = uniqueEmail("provider");
    await sendEmail(providerEnv, db(), { to, subject: "Hello", text: "Body text" });

    expect(fetchSpy).toHaveBeenCalledOnce();
    const [url, init] = fetchSpy.mock.calls[0] as [string, RequestInit];
    expect(url).toBe("https://mail.example/v1/send");
    expect(init.method).toBe("POST");
    expect(init.headers).toMatchObject({ authorization: "Bearer provider-key", "content-type": "application/json" });
    expect(JSON.parse(init.body as string)).toEqual({ from: env.EMAIL_FROM, to, subject: "Hello", text: "Body text" });
    expect(await db().select().from(outboxEmails).where(eq(outboxEmails.to, to))).toHaveLength(1);
  });

  it("a failing provider is logged by status only and does not fail the caller; the outbox keeps the email", async () => {
    vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response("upstream says no", { status: 503 }));
    vi.spyOn(console, "log").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const providerEnv = { ...env, EMAIL_API_URL: "https://mail.example/v1/send", EMAIL_API_KEY: "provider-key" };
    const to = uniqueEmail("failing");
    await expect(sendEmail(providerEnv, db(), { to, subject: "Hello", text: "Body text" })).resolves.toMatchObject({ emailId: expect.any(String) });
    const logged = error.mock.calls.flat().join("\n");
    expect(JSON.parse(logged)).toMatchObject({ level: "error", msg: "email.provider.refused", status: 503 });
    expect(logged).not.toContain("provider-key");
    expect(logged).not.toContain(to);
    expect(await db().select().from(outboxEmails).where(eq(outboxEmails.to, to))).toHaveLength(1);
  });

  it("register answers before a slow provider has taken the confirmation email", async () => {
    let answer: (res: Response) => void = () => {};
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockReturnValue(new Promise<Response>((resolve) => (answer = resolve)));
    vi.spyOn(console, "log").mockImplementation(() => {});
    const providerEnv = { ...env, EMAIL_API_URL: "https://mail.example/v1/send", EMAIL_API_KEY: "provider-key" };
    const email = uniqueEmail("slow-provider");
    const ctx = createExecutionContext();
    const request = new Request("http://localhost/api/auth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ forename: "Jane", email, password: "Lighthouse-Orbit-42" }),
    });

    const res = await app.fetch(request, providerEnv, ctx);
    expect(res.status).toBe(200);
    expect(fetchSpy).toHaveBeenCalledOnce();
    expect(await db().select().from(outboxEmails).where(eq(outboxEmails.to, email))).toHaveLength(1);

    answer(new Response("{}", { status: 200 }));
    await waitOnExecutionContext(ctx);
    expect(JSON.parse((fetchSpy.mock.calls[0][1] as RequestInit).body as string)).toMatchObject({ to: email, subject: "Confirm your DataSync account" });
  });
});

describe("emails with links outside local development", () => {
  const production = { ...env, ...strongSecrets(), ENVIRONMENT: "production", EMAIL_OUTBOX: undefined } as unknown as Env;

  it("production defaults: not kept in the outbox, not printed", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const to = uniqueEmail("prod");
    const res = await app.fetch(
      new Request("http://localhost/api/auth/register", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ forename: "Jane", email: to, password: "Lighthouse-Orbit-42" }),
      }),
      production,
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
    expect(await db().select().from(outboxEmails).where(eq(outboxEmails.to, to))).toHaveLength(0);
    expect(log.mock.calls.flat().join("\n")).not.toContain("confirm-email?token=");
  });

  it("an operator who enables the outbox in production gets it, still with nothing printed", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const to = uniqueEmail("prod-outbox");
    await sendEmail({ ...production, EMAIL_OUTBOX: "true" }, db(), { to, subject: "Reset", text: "https://x/reset-password?token=abc" });
    expect(await db().select().from(outboxEmails).where(eq(outboxEmails.to, to))).toHaveLength(1);
    // Only the JSON line naming the email's id: neither the address nor the link.
    const printed = log.mock.calls.flat().join("\n");
    expect(printed).not.toContain(to);
    expect(printed).not.toContain("token=abc");
  });

  it("the daily cron purges outbox emails older than 7 days, and only those", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const start = Date.parse("2026-11-01T10:00:00Z");
    const to = uniqueEmail("purge");
    setClock(() => start);
    await sendEmail(env, db(), { to, subject: "old 1", text: "x" });
    await sendEmail(env, db(), { to, subject: "old 2", text: "x" });
    setClock(() => start + 60_000);
    await sendEmail(env, db(), { to, subject: "young", text: "x" });

    setClock(() => start + OUTBOX_RETENTION_MS + 1000);
    await scheduled({ cron: CRON.daily, scheduledTime: 0, noRetry() {} } as ScheduledController, env);
    const left = await db().select({ subject: outboxEmails.subject }).from(outboxEmails).where(eq(outboxEmails.to, to));
    expect(left).toEqual([{ subject: "young" }]);
  });
});
