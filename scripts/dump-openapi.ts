/**
 * Writes the OpenAPI document the Worker serves at /api/openapi.json to dist/openapi.json, for
 * `npm run lint:openapi` (Redocly). It builds the Hono app in Node (vitest resolves the Worker's
 * imports): the document is generated from the route schemas; the D1 binding is only opened as a session
 * (one per request, see middleware/d1-session.ts), never queried.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { expect, it } from "vitest";
import { app } from "../src/app";

it("writes dist/openapi.json", async () => {
  // Local development: the document needs no secrets (elsewhere the Worker refuses to serve without them).
  const DB = { withSession: () => ({ getBookmark: () => null }) };
  const res = await app.request("http://localhost/api/openapi.json", {}, { DB, ENVIRONMENT: "development" });
  expect(res.status).toBe(200);
  await mkdir("dist", { recursive: true });
  await writeFile("dist/openapi.json", JSON.stringify(await res.json(), null, 2));
});
