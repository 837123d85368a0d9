import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../../src/app";
import { api } from "../helpers";

afterEach(() => vi.restoreAllMocks());

/** The error shape every failure shares: `error`, `code`, and the request id of the `X-Request-Id` header. */
async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = await res.json<Record<string, unknown>>();
  expect(body).toMatchObject({ code, error: expect.any(String) });
  expect(body.requestId).toBe(res.headers.get("x-request-id"));
  return body;
}

describe("service basics", () => {
  it("GET /api/health answers ok after a D1 query, with a request id", async () => {
    const res = await api("/api/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("unknown route is a 404 in the error shape", async () => {
    const res = await api("/api/nothing-here");
    expect(res.status).toBe(404);
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ error: "Not found.", code: "not_found" });
    expect(body.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("known route with the wrong method is a 405 with Allow", async () => {
    const res = await api("/api/health", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
    expect(await res.json()).toMatchObject({ code: "method_not_allowed" });
  });

  it("serves an OpenAPI 3.1 document and the docs page", async () => {
    const res = await api("/api/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/api/health"]).toBeDefined();
    const docs = await api("/docs");
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toContain("text/html");
  });

  it("malformed JSON is a 400 with a code", async () => {
    const res = await api("/api/auth/login", { body: '{"email": ', headers: { "content-type": "application/json" } });
    const body = await expectError(res, 400, "bad_request");
    expect(body.error).toMatch(/JSON/);
  });

  it("JSON of the wrong shape is a 400 listing each field in details", async () => {
    const res = await api("/api/auth/register", { json: { forename: 42, email: "nope" } });
    const body = await expectError(res, 400, "validation_failed");
    const paths = (body.details as { path: string; message: string }[]).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(["forename", "email", "password"]));
  });

  it("a body without Content-Type: application/json is a 415", async () => {
    const res = await api("/api/auth/login", { body: JSON.stringify({ email: "a@example.com", password: "x" }) });
    await expectError(res, 415, "unsupported_media_type");
  });

  it("a body over 1 MiB is a 413", async () => {
    const huge = JSON.stringify({ email: "a@example.com", password: "x".repeat(1024 * 1024) });
    await expectError(await api("/api/auth/login", { body: huge, headers: { "content-type": "application/json" } }), 413, "payload_too_large");
  });

  it("an unexpected exception is a 500 without internals, and is logged for the operator", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const brokenDb = {
      prepare: () => {
        throw new Error("D1 exploded at /srv/secret/path.sql");
      },
    } as unknown as D1Database;
    const res = await app.fetch(new Request("http://localhost/api/health"), { ...env, DB: brokenDb }, createExecutionContext());
    const body = await expectError(res, 500, "internal_error");
    expect(body.error).toBe("Internal server error.");
    expect(JSON.stringify(body)).not.toMatch(/exploded|secret|at \//);
    const logged = JSON.parse(error.mock.calls.flat().join(" ")) as Record<string, string>;
    expect(logged).toMatchObject({ level: "error", msg: "request.unhandled", requestId: body.requestId, error: expect.stringMatching(/^\w+Error: /) });
  });

  it("a failed query is logged with its SQL and reason, never its bound parameters", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const failing = () => Promise.reject(new Error("D1_ERROR: no such table: users"));
    const statement = { bind: () => statement, all: failing, raw: failing, run: failing, first: failing };
    // Requests run in a D1 session (read replication): the broken database hands out a broken session.
    const brokenSession = { prepare: () => statement, getBookmark: () => null };
    const brokenDb = { prepare: () => statement, withSession: () => brokenSession } as unknown as D1Database;
    const email = "param-must-not-be-logged@example.com";
    const request = new Request("http://localhost/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: "some password" }),
    });
    const res = await app.fetch(request, { ...env, DB: brokenDb }, createExecutionContext());
    await expectError(res, 500, "internal_error");
    const logged = error.mock.calls.flat().join(" ");
    expect(logged).toContain("Failed query: select");
    expect(logged).toContain("no such table: users");
    expect(logged).not.toContain(email);
  });
});
