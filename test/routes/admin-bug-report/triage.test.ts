import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { bugReports, knownIssues, users } from "../../../src/db/schema";
import { setClock } from "../../../src/lib/clock";
import { adminToken, api, createColleague, createSubscriber, db } from "../../helpers";
import { emailsTo, fileReport, triage } from "../../support/bug-report";

afterEach(() => setClock(null));

const storedReport = async (id: string) => (await db().select().from(bugReports).where(eq(bugReports.id, id)))[0];

describe("operator authentication", () => {
  it("401 on both operator routes without a token, with a user's token or with a wrong operator token", async () => {
    const { token, email } = await createSubscriber();
    const bugReportId = await fileReport(token);
    for (const bearer of [undefined, token, "wrong-admin-token"]) {
      const list = await api("/api/admin/bugreport", { token: bearer });
      expect(list.status).toBe(401);
      expect(await list.json()).toMatchObject({ code: "unauthorized", error: expect.any(String) });

      // Not through triage(): its default token is the operator's.
      const put = await api(`/api/admin/bugreport/${bugReportId}`, { method: "PUT", token: bearer, json: { status: "resolved" } });
      expect(put.status).toBe(401);
      await put.text();
    }
    expect(await storedReport(bugReportId)).toMatchObject({ status: "open" });
    expect(await emailsTo(email)).toHaveLength(0);
  });
});

describe("GET /api/admin/bugreport", () => {
  it("lists every subscriber's reports newest first, with the subscriber and the reporter's email", async () => {
    const alice = await createSubscriber();
    const bob = await createSubscriber();
    setClock(() => Date.parse("2026-11-20T08:00:00Z"));
    const aliceReport = await fileReport(alice.token, { category: "ui", severity: "low" });
    setClock(() => Date.parse("2026-11-21T08:00:00Z"));
    const bobReport = await fileReport(bob.token, { category: "agent" });

    const res = await api("/api/admin/bugreport", { token: adminToken() });
    expect(res.status).toBe(200);
    const list = await res.json<Record<string, unknown>[]>();
    const ids = list.map((r) => r.bugReportId);
    expect(ids.indexOf(bobReport)).toBeLessThan(ids.indexOf(aliceReport));
    expect(list.find((r) => r.bugReportId === aliceReport)).toEqual({
      bugReportId: aliceReport,
      subscriberId: alice.subscriberId,
      reporterEmail: alice.email,
      title: "Backup fails on databases with spaces in name",
      description: "When a database name contains spaces, the agent throws a parsing error.",
      category: "ui",
      severity: "low",
      status: "open",
      createdAt: "2026-11-20T08:00:00Z",
      updatedAt: "2026-11-20T08:00:00Z",
      knownIssue: null,
    });
  });

  it("filters by status and category", async () => {
    const { token } = await createSubscriber();
    const openBilling = await fileReport(token, { category: "billing" });
    const resolvedBilling = await fileReport(token, { category: "billing" });
    const openApi = await fileReport(token, { category: "api" });
    await triage(resolvedBilling, { status: "resolved" });

    const ids = async (query: string) => {
      const res = await api(`/api/admin/bugreport?${query}`, { token: adminToken() });
      expect(res.status).toBe(200);
      return (await res.json<{ bugReportId: string }[]>()).map((r) => r.bugReportId);
    };
    const billing = await ids("category=billing");
    expect(billing).toEqual(expect.arrayContaining([openBilling, resolvedBilling]));
    expect(billing).not.toContain(openApi);
    const resolved = await ids("status=resolved");
    expect(resolved).toContain(resolvedBilling);
    expect(resolved).not.toContain(openBilling);
    expect(await ids("status=open&category=billing")).toEqual([openBilling]);
  });

  it("pages newest first with X-Total-Count and Link headers", async () => {
    // The only reports of category "other" in this file.
    const { token } = await createSubscriber();
    const oldest = await fileReport(token, { category: "other" });
    const middle = await fileReport(token, { category: "other" });
    const newest = await fileReport(token, { category: "other" });

    const first = await api("/api/admin/bugreport?category=other&pageSize=2", { token: adminToken() });
    expect(first.status).toBe(200);
    expect(first.headers.get("x-total-count")).toBe("3");
    expect(first.headers.get("link")).toBe('<http://localhost/api/admin/bugreport?category=other&pageSize=2&page=2>; rel="next"');
    expect((await first.json<{ bugReportId: string }[]>()).map((r) => r.bugReportId)).toEqual([newest, middle]);

    const second = await api("/api/admin/bugreport?category=other&pageSize=2&page=2", { token: adminToken() });
    expect(second.headers.get("link")).toContain('rel="prev"');
    expect(second.headers.get("link")).not.toContain('rel="next"');
    expect((await second.json<{ bugReportId: string }[]>()).map((r) => r.bugReportId)).toEqual([oldest]);
  });

  it("400 for an unknown status or category filter, or a page size over 200", async () => {
    for (const [query, message] of [
      ["status=closed", /Status must be one of/],
      ["category=database", /Category must be one of/],
      ["pageSize=201", /pageSize/],
    ] as const) {
      const res = await api(`/api/admin/bugreport?${query}`, { token: adminToken() });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "validation_failed", error: expect.stringMatching(message) });
    }
  });
});

describe("PUT /api/admin/bugreport/{id}", () => {
  it("a status change updates the report the subscriber sees and emails the reporter once", async () => {
    const { token, email } = await createSubscriber();
    const bugReportId = await fileReport(token, { title: "Restore hangs at 99 percent", category: "restore" });
    setClock(() => Date.parse("2026-11-27T09:30:00Z"));

    const res = await triage(bugReportId, { status: "in_progress" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ bugReportId, status: "in_progress", updatedAt: "2026-11-27T09:30:00Z", knownIssue: null });

    const own = await api("/api/bugreport", { token });
    expect(await own.json()).toEqual([expect.objectContaining({ bugReportId, status: "in_progress", updatedAt: "2026-11-27T09:30:00Z" })]);

    const emails = await emailsTo(email);
    expect(emails).toHaveLength(1);
    expect(emails[0].subject).toBe("Your bug report is in progress: Restore hangs at 99 percent");
    expect(emails[0].text).toContain('"Restore hangs at 99 percent" changed from open to in progress');
    expect(emails[0].text).toContain(bugReportId);

    // The same status again is not a change: no second email, no new updatedAt.
    setClock(() => Date.parse("2026-11-27T10:00:00Z"));
    const again = await triage(bugReportId, { status: "in_progress" });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: "in_progress", updatedAt: "2026-11-27T09:30:00Z" });
    expect(await emailsTo(email)).toHaveLength(1);

    expect((await triage(bugReportId, { status: "resolved" })).status).toBe(200);
    const afterResolve = await emailsTo(email);
    expect(afterResolve).toHaveLength(2);
    expect(afterResolve.map((e) => e.subject)).toContain("Your bug report is resolved: Restore hangs at 99 percent");
  });

  it("a title with line breaks reaches the email subject as one line", async () => {
    const { token, email } = await createSubscriber();
    const bugReportId = await fileReport(token, { title: "Restore hangs\r\nBcc: victim@example.com\nX-Spam: yes" });
    expect((await triage(bugReportId, { status: "in_progress" })).status).toBe(200);
    const [sent] = await emailsTo(email);
    expect(sent.subject).toBe("Your bug report is in progress: Restore hangs Bcc: victim@example.com X-Spam: yes");
  });

  it("publishes a known issue with the report's fields by default, linked to the report", async () => {
    const { token } = await createSubscriber();
    const bugReportId = await fileReport(token, { title: "Agent crashes on ARM", category: "agent", severity: "critical" });
    setClock(() => Date.parse("2026-11-27T11:00:00Z"));

    const res = await triage(bugReportId, { status: "open", knownIssue: {} });
    expect(res.status).toBe(200);
    const body = await res.json<{ knownIssue: { id: number } }>();
    expect(body.knownIssue).toEqual({
      id: expect.any(Number),
      title: "Agent crashes on ARM",
      category: "agent",
      severity: "critical",
      status: "open",
      createdAt: "2026-11-27T11:00:00Z",
    });
    expect(await storedReport(bugReportId)).toMatchObject({ status: "open", knownIssueId: body.knownIssue.id });
    const [issue] = await db().select().from(knownIssues).where(eq(knownIssues.id, body.knownIssue.id));
    expect(issue).toMatchObject({ bugReportId, resolvedAt: null });

    const known = await (await api("/api/bugreport/known")).json<{ id: number }[]>();
    expect(known.map((i) => i.id)).toContain(body.knownIssue.id);
  });

  it("publishes with the operator's wording, then edits the same known issue whose status follows the report", async () => {
    const { token, email } = await createSubscriber();
    const bugReportId = await fileReport(token, { title: "my backups at acme-prod-db-7 fail", severity: "medium" });

    const published = await triage(bugReportId, {
      status: "in_progress",
      knownIssue: { title: "  Backups fail for database names with spaces  ", severity: "high" },
    });
    expect(published.status).toBe(200);
    const { knownIssue } = await published.json<{ knownIssue: { id: number } }>();
    expect(knownIssue).toMatchObject({ title: "Backups fail for database names with spaces", category: "backup", severity: "high", status: "in_progress" });
    expect((await emailsTo(email))[0].text).toContain(`known issue #${knownIssue.id}`);

    const edited = await triage(bugReportId, { status: "in_progress", knownIssue: { category: "agent" } });
    expect(await edited.json()).toMatchObject({
      knownIssue: { id: knownIssue.id, title: "Backups fail for database names with spaces", category: "agent", severity: "high" },
    });

    // No knownIssue in the body: the published issue still follows the report's status.
    setClock(() => Date.parse("2026-11-27T12:00:00Z"));
    expect((await triage(bugReportId, { status: "resolved" })).status).toBe(200);
    const rows = await db().select().from(knownIssues).where(eq(knownIssues.bugReportId, bugReportId));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: knownIssue.id, status: "resolved", resolvedAt: new Date("2026-11-27T12:00:00Z") });
  });

  it("emails the reporter, or the account owner once the reporting user is gone", async () => {
    const owner = await createSubscriber();
    const colleague = await createColleague(owner.subscriberId);
    const first = await fileReport(colleague.token, { title: "Billing page renders blank" });
    const second = await fileReport(colleague.token, { title: "Billing page renders blank again" });

    expect(await (await triage(first, { status: "in_progress" })).json()).toMatchObject({ reporterEmail: colleague.email });
    expect(await emailsTo(colleague.email)).toHaveLength(1);
    expect(await emailsTo(owner.email)).toHaveLength(0);

    await db().delete(users).where(eq(users.id, colleague.userId));
    expect(await (await triage(second, { status: "resolved" })).json()).toMatchObject({ reporterEmail: owner.email });
    expect(await emailsTo(owner.email)).toHaveLength(1);
  });

  const invalid: [string, unknown][] = [
    ["an unknown status", { status: "closed" }],
    ["a missing status", { knownIssue: {} }],
    ["a known issue title of 2 characters", { status: "open", knownIssue: { title: "ab" } }],
    ["a known issue with an unknown category", { status: "open", knownIssue: { category: "database" } }],
    ["a known issue with an unknown field", { status: "open", knownIssue: { description: "private text" } }],
  ];
  it.each(invalid)("400 for %s, nothing changed and nobody emailed", async (_, json) => {
    const { token, email } = await createSubscriber();
    const bugReportId = await fileReport(token);
    const res = await triage(bugReportId, json);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "validation_failed", error: expect.any(String) });
    expect(await storedReport(bugReportId)).toMatchObject({ status: "open", knownIssueId: null });
    expect(await db().select().from(knownIssues).where(eq(knownIssues.bugReportId, bugReportId))).toHaveLength(0);
    expect(await emailsTo(email)).toHaveLength(0);
  });

  it("404 for an unknown report id", async () => {
    for (const id of [crypto.randomUUID(), "not-a-uuid"]) {
      const res = await triage(id, { status: "resolved" });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: "Bug report not found.", code: "not_found" });
    }
  });
});
