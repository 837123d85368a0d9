import { describe, expect, it } from "vitest";
import { api } from "../../helpers";

type Operation = { security?: Record<string, string[]>[]; requestBody?: { required?: boolean }; responses: Record<string, unknown> };

describe("OpenAPI document", () => {
  it("documents every accounts, API key and operator endpoint with its security and body", async () => {
    const doc = await (await api("/api/openapi.json")).json<{ paths: Record<string, Record<string, Operation>> }>();
    const expected: [string, string, "public" | "Bearer" | "OperatorToken", boolean][] = [
      ["/api/auth/register", "post", "public", true],
      ["/api/auth/confirm-email", "post", "public", true],
      ["/api/auth/login", "post", "public", true],
      ["/api/auth/forgot-password", "post", "public", true],
      ["/api/auth/reset-password", "post", "public", true],
      ["/api/account", "get", "Bearer", false],
      ["/api/apikey", "get", "Bearer", false],
      ["/api/apikey", "post", "Bearer", true],
      ["/api/apikey/{id}", "delete", "Bearer", false],
      ["/api/admin/subscriber/{id}/plan", "put", "OperatorToken", true],
      ["/api/admin/outbox", "get", "OperatorToken", false],
    ];
    for (const [path, method, scheme, hasBody] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method.toUpperCase()} ${path}`).toBeDefined();
      expect(op.security ?? [], `${method.toUpperCase()} ${path} security`).toEqual(scheme === "public" ? [] : [{ [scheme]: [] }]);
      expect(op.requestBody?.required ?? false, `${method.toUpperCase()} ${path} body`).toBe(hasBody);
      expect(op.responses["200"]).toBeDefined();
    }
  });

  it("documents x-d1-bookmark: the request header of reads and the response header of authenticated reads", async () => {
    type Documented = Operation & { parameters?: { $ref?: string }[]; responses: Record<string, { headers?: Record<string, { $ref?: string }> }> };
    const doc = await (await api("/api/openapi.json")).json<{
      paths: Record<string, Record<string, Documented>>;
      components: { headers: Record<string, { schema: unknown }>; parameters: Record<string, { name: string; in: string }> };
    }>();
    expect(doc.components.parameters.D1Bookmark).toMatchObject({ name: "x-d1-bookmark", in: "header", required: false });
    expect(doc.components.headers.D1Bookmark.schema).toMatchObject({ type: "string" });
    const bookmarkParam = { $ref: "#/components/parameters/D1Bookmark" };
    for (const path of ["/api/account", "/api/backupjob", "/api/backupfile"]) {
      const op = doc.paths[path].get;
      expect(op.parameters, path).toContainEqual(bookmarkParam);
      expect(op.responses["200"].headers?.["x-d1-bookmark"], path).toEqual({ $ref: "#/components/headers/D1Bookmark" });
    }
    // Writes and the sign-in flows start on the primary: a bookmark sent there changes nothing.
    expect(doc.paths["/api/backupjob"].post.parameters ?? []).not.toContainEqual(bookmarkParam);
    expect(doc.paths["/api/health"].get.responses["200"].headers?.["x-d1-bookmark"]).toBeUndefined();
  });
});
