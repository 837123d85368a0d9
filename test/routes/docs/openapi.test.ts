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
});
