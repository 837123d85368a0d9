import { describe, expect, it } from "vitest";
import { api, createSubscriber } from "../../helpers";
import { fileReport, storedReports, validReport } from "../../support/bug-report";

describe("POST /api/bugreport", () => {
  it("stores an open report for the caller and answers with its id and the seed's message", async () => {
    const { token, subscriberId, userId } = await createSubscriber();
    const res = await api("/api/bugreport", { token, json: { ...validReport, title: "  Backup fails on spaces  " } });
    expect(res.status).toBe(200);
    const body = await res.json<{ bugReportId: string; message: string }>();
    expect(body).toEqual({ bugReportId: expect.stringMatching(/^[0-9a-f-]{36}$/), message: "Bug report submitted." });

    const [row] = await storedReports(subscriberId);
    expect(row).toMatchObject({
      id: body.bugReportId,
      userId,
      title: "Backup fails on spaces",
      description: validReport.description,
      category: "backup",
      severity: "high",
      status: "open",
      knownIssueId: null,
    });
  });

  it("accepts every category and severity the seed lists, and the length boundaries", async () => {
    const { token, subscriberId } = await createSubscriber();
    for (const category of ["backup", "restore", "agent", "billing", "ui", "api", "other"]) {
      await fileReport(token, { category });
    }
    for (const severity of ["low", "medium", "high", "critical"]) {
      await fileReport(token, { severity });
    }
    await fileReport(token, { title: "abc", description: "x".repeat(10) });
    await fileReport(token, { title: "t".repeat(200), description: "d".repeat(10_000) });
    expect(await storedReports(subscriberId)).toHaveLength(13);
  });

  const invalid: [string, Record<string, unknown>, RegExp][] = [
    ["missing title", { title: undefined }, /Title is required\./],
    ["title of 2 characters after trimming", { title: "  ab  " }, /Title must be 3 to 200 characters\./],
    ["title of 201 characters", { title: "t".repeat(201) }, /Title must be 3 to 200 characters\./],
    ["title that is not a string", { title: 42 }, /Title must be a string\./],
    ["missing description", { description: undefined }, /Description is required\./],
    ["description of 9 characters", { description: "too short" }, /Description must be 10 to 10,000 characters\./],
    ["description of 10,001 characters", { description: "d".repeat(10_001) }, /Description must be 10 to 10,000 characters\./],
    ["unknown category", { category: "database" }, /Category must be one of: backup, restore, agent, billing, ui, api, other\./],
    ["category in the wrong case", { category: "Backup" }, /Category must be one of/],
    ["missing category", { category: undefined }, /Category must be one of/],
    ["unknown severity", { severity: "urgent" }, /Severity must be one of: low, medium, high, critical\./],
  ];
  it.each(invalid)("400 for %s, nothing stored", async (_, overrides, message) => {
    const { token, subscriberId } = await createSubscriber();
    const res = await api("/api/bugreport", { token, json: { ...validReport, ...overrides } });
    expect(res.status).toBe(400);
    const body = await res.json<{ error: string; code: string }>();
    expect(body.code).toBe("validation_failed");
    expect(body.error).toMatch(message);
    expect(await storedReports(subscriberId)).toHaveLength(0);
  });

  it("400 for a body that is not JSON, nothing stored", async () => {
    const { token, subscriberId } = await createSubscriber();
    const res = await api("/api/bugreport", { token, body: "{not json", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: expect.any(String) });
    expect(await storedReports(subscriberId)).toHaveLength(0);
  });

  it("401 without a token or with an invalid one, nothing stored", async () => {
    const { subscriberId } = await createSubscriber();
    for (const token of [undefined, "not-a-jwt"]) {
      const res = await api("/api/bugreport", { token, json: validReport });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      expect(await res.json()).toMatchObject({ error: expect.any(String), code: "unauthorized" });
    }
    expect(await storedReports(subscriberId)).toHaveLength(0);
  });
});

describe("GET /api/bugreport", () => {
  it("lists the caller's own reports, newest first, with their status", async () => {
    const { token } = await createSubscriber();
    const first = await fileReport(token, { title: "First report", category: "agent", severity: "low" });
    const second = await fileReport(token, { title: "Second report" });

    const res = await api("/api/bugreport", { token });
    expect(res.status).toBe(200);
    const list = await res.json<Record<string, unknown>[]>();
    expect(list.map((r) => r.bugReportId)).toEqual([second, first]);
    expect(list[1]).toEqual({
      bugReportId: first,
      title: "First report",
      description: validReport.description,
      category: "agent",
      severity: "low",
      status: "open",
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
  });

  it("never shows another subscriber's reports", async () => {
    const alice = await createSubscriber();
    const bob = await createSubscriber();
    const aliceReport = await fileReport(alice.token, { title: "Alice's private report" });

    const res = await api("/api/bugreport", { token: bob.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);

    const own = await api("/api/bugreport", { token: alice.token });
    expect((await own.json<{ bugReportId: string }[]>()).map((r) => r.bugReportId)).toEqual([aliceReport]);
  });

  it("401 without a token", async () => {
    const res = await api("/api/bugreport");
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "unauthorized" });
  });
});

describe("API documentation", () => {
  it("documents the bug report and operator triage routes", async () => {
    const doc = await (await api("/api/openapi.json")).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(Object.keys(doc.paths["/api/bugreport"]).sort()).toEqual(["get", "post"]);
    expect(doc.paths["/api/bugreport/known"].get).toBeDefined();
    expect(doc.paths["/api/admin/bugreport"].get).toBeDefined();
    expect(doc.paths["/api/admin/bugreport/{id}"].put).toBeDefined();
  });
});
