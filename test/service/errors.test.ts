import { describe, expect, it } from "vitest";
import { api } from "../helpers";

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
});
