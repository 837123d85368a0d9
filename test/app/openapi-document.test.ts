import { describe, expect, it } from "vitest";
import { PUBLIC_ENDPOINT_LIMITS } from "../../src/middleware/rate-limit";
import { api } from "../helpers";
import { assertDocumentedResponse } from "../openapi-conformance";

type Schema = { pattern?: string; properties?: Record<string, Schema> };
type Doc = {
  paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, { headers?: Record<string, unknown> }> }>>;
  components: { schemas: Record<string, Schema> };
};
const document = async () => (await api("/api/openapi.json")).json<Doc>();
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

describe("the response check every test runs (test/openapi-conformance.ts)", () => {
  const health = new Request("http://localhost/api/health");

  it("passes a response the document describes", async () => {
    const res = await api("/api/health");
    await expect(assertDocumentedResponse(health, res)).resolves.toBeUndefined();
  });

  it("fails a status the operation does not document", async () => {
    await expect(assertDocumentedResponse(health, json(418, { error: "teapot" }))).rejects.toThrow(/GET \/api\/health → 418 is not a documented response/);
  });

  it("fails a body that breaks the documented schema", async () => {
    await expect(assertDocumentedResponse(health, json(200, { status: 42 }))).rejects.toThrow(/GET \/api\/health → 200 body does not match/);
  });
});

describe("OpenAPI document", () => {
  it("documents 429 with Retry-After on every public rate-limited operation, and declares them public", async () => {
    const doc = await document();
    for (const path of Object.keys(PUBLIC_ENDPOINT_LIMITS)) {
      const operation = doc.paths[path].post;
      expect(operation.security, path).toEqual([]);
      expect(Object.keys(operation.responses["429"]?.headers ?? {}), path).toContain("Retry-After");
    }
  });

  it("gives register's forename a pattern that real names match and control characters do not", async () => {
    const pattern = new RegExp((await document()).components.schemas.RegisterRequest.properties!.forename.pattern!, "u");
    expect(pattern.test("Jane")).toBe(true);
    expect(pattern.test("Zoë-Anne")).toBe(true);
    expect(pattern.test("Jane\nBcc: x")).toBe(false);
  });
});
