import { afterEach, describe, expect, it } from "vitest";
import { setClock } from "../../../src/lib/clock";
import { api, createSubscriber } from "../../helpers";
import { fileReport, triage } from "../../support/bug-report";

const DAY_MS = 24 * 60 * 60 * 1000;

interface KnownIssue {
  id: number;
  title: string;
  category: string;
  severity: string;
  status: string;
  createdAt: string;
}

async function knownIssues() {
  const res = await api("/api/bugreport/known");
  expect(res.status).toBe(200);
  return res.json<KnownIssue[]>();
}

/** Files a report as a fresh subscriber and has the operator publish it; returns the known issue. */
async function publishKnownIssue(title: string, status = "in_progress") {
  const reporter = await createSubscriber();
  const bugReportId = await fileReport(reporter.token, { title });
  const res = await triage(bugReportId, { status, knownIssue: {} });
  expect(res.status).toBe(200);
  const { knownIssue } = await res.json<{ knownIssue: KnownIssue }>();
  return { reporter, bugReportId, knownIssue };
}

afterEach(() => setClock(null));

describe("GET /api/bugreport/known", () => {
  it("is public and returns exactly the seed's fields, never the reporter's description, email or subscriber", async () => {
    const { reporter, bugReportId, knownIssue } = await publishKnownIssue("Differential backups fail on SQL Server 2014");

    const res = await api("/api/bugreport/known");
    expect(res.status).toBe(200);
    const text = await res.text();
    const list = JSON.parse(text) as KnownIssue[];
    const issue = list.find((i) => i.id === knownIssue.id);
    expect(issue).toEqual({
      id: expect.any(Number),
      title: "Differential backups fail on SQL Server 2014",
      category: "backup",
      severity: "high",
      status: "in_progress",
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(Number.isInteger(issue?.id)).toBe(true);
    for (const entry of list) expect(Object.keys(entry).sort()).toEqual(["category", "createdAt", "id", "severity", "status", "title"]);
    for (const secret of ["agent throws a parsing error", reporter.email, reporter.subscriberId, reporter.userId, bugReportId]) {
      expect(text).not.toContain(secret);
    }
  });

  it("lists only what the operator published, newest first", async () => {
    const reporter = await createSubscriber();
    const unpublished = await fileReport(reporter.token, { title: "Never published anywhere" });
    await triage(unpublished, { status: "in_progress" });

    setClock(() => Date.parse("2026-11-01T10:00:00Z"));
    const older = await publishKnownIssue("Older known issue");
    setClock(() => Date.parse("2026-11-02T10:00:00Z"));
    const newer = await publishKnownIssue("Newer known issue");

    const list = await knownIssues();
    expect(list.map((i) => i.title)).not.toContain("Never published anywhere");
    const ids = list.map((i) => i.id);
    expect(ids.indexOf(newer.knownIssue.id)).toBeLessThan(ids.indexOf(older.knownIssue.id));
    expect(list.find((i) => i.id === older.knownIssue.id)?.createdAt).toBe("2026-11-01T10:00:00Z");
  });

  it("sends Cache-Control and an ETag; a repeat with If-None-Match gets an empty 304 until the list changes", async () => {
    await publishKnownIssue("Cached known issue");
    const first = await api("/api/bugreport/known");
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("public, max-age=60");
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    await first.text();

    const repeat = await api("/api/bugreport/known", { headers: { "if-none-match": etag! } });
    expect(repeat.status).toBe(304);
    expect(await repeat.text()).toBe("");
    expect(repeat.headers.get("etag")).toBe(etag);
    expect(repeat.headers.get("cache-control")).toBe("public, max-age=60");

    const stale = await api("/api/bugreport/known", { headers: { "if-none-match": '"some-other-etag"' } });
    expect(stale.status).toBe(200);
    await stale.text();

    await publishKnownIssue("A new known issue changes the list");
    const changed = await api("/api/bugreport/known", { headers: { "if-none-match": etag! } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect((await changed.json<KnownIssue[]>()).map((i) => i.title)).toContain("A new known issue changes the list");
  });

  it("keeps a resolved issue for 30 days after it was resolved, then hides it; reopening shows it again", async () => {
    const resolvedAt = Date.parse("2026-10-01T12:00:00Z");
    setClock(() => resolvedAt - DAY_MS);
    const { bugReportId, knownIssue } = await publishKnownIssue("Resolved a while ago");
    setClock(() => resolvedAt);
    expect((await triage(bugReportId, { status: "resolved" })).status).toBe(200);

    const visible = async () => (await knownIssues()).find((i) => i.id === knownIssue.id);

    setClock(() => resolvedAt + 30 * DAY_MS - 1000);
    expect(await visible()).toMatchObject({ status: "resolved" });

    setClock(() => resolvedAt + 30 * DAY_MS);
    expect(await visible()).toBeUndefined();

    // Confirming "resolved" again must not restart the 30 days.
    expect((await triage(bugReportId, { status: "resolved" })).status).toBe(200);
    expect(await visible()).toBeUndefined();

    expect((await triage(bugReportId, { status: "in_progress" })).status).toBe(200);
    expect(await visible()).toMatchObject({ status: "in_progress" });
  });

  it("shows open and in-progress issues however old they are", async () => {
    setClock(() => Date.parse("2025-01-01T00:00:00Z"));
    const { knownIssue } = await publishKnownIssue("Old but still open", "open");
    setClock(() => Date.parse("2026-11-27T00:00:00Z"));
    expect((await knownIssues()).find((i) => i.id === knownIssue.id)).toMatchObject({ status: "open" });
  });
});
