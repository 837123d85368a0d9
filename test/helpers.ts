import { env, exports } from "cloudflare:workers";
import { createDb } from "../src/db/client";
import { type PlanName, subscribers, users } from "../src/db/schema";
import { clock } from "../src/lib/clock";
import { issueAccessToken } from "../src/services/access-token";
import { hashPassword } from "../src/services/password";
import { assertDocumentedResponse } from "./openapi-conformance";

export const BASE = "http://localhost";
export const db = () => createDb(env.DB);

/**
 * Calls the Worker the way a client does: full URL, optional JSON body and bearer token. Every response
 * is checked against the OpenAPI document (test/openapi-conformance.ts).
 */
export async function api(
  path: string,
  init: { method?: string; token?: string; json?: unknown; headers?: Record<string, string>; body?: BodyInit } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body = init.body;
  if (init.json !== undefined) {
    headers["content-type"] ??= "application/json";
    body = JSON.stringify(init.json);
  }
  const request = new Request(`${BASE}${path}`, { method: init.method ?? (body ? "POST" : "GET"), headers, body });
  const response = await exports.default.fetch(request);
  await assertDocumentedResponse(request, response);
  return response;
}

export const adminToken = () => env.ADMIN_TOKEN;

export const randomBase64 = (bytes: number) => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))));
/** Secrets as `wrangler secret put` should get them (random, long enough): for a Worker env outside local development. */
export const strongSecrets = () => ({ JWT_SECRET: randomBase64(48), ADMIN_TOKEN: randomBase64(32), ENCRYPTION_KEY: randomBase64(32) });

let counter = 0;
/** A confirmed user on a fresh subscriber, with a valid access token: the starting point of most tests. */
export async function createSubscriber(opts: { plan?: PlanName; email?: string; password?: string } = {}) {
  const now = clock.now();
  const subscriberId = crypto.randomUUID();
  const userId = crypto.randomUUID();
  const email = opts.email ?? `user${++counter}-${subscriberId.slice(0, 8)}@example.com`;
  const password = opts.password ?? "correct horse battery staple";
  await db().batch([
    db().insert(subscribers).values({ id: subscriberId, organisationName: "Acme", plan: opts.plan ?? "Free", createdAt: now }),
    db()
      .insert(users)
      .values({ id: userId, subscriberId, forename: "Jane", email, passwordHash: await hashPassword(password), emailConfirmedAt: now, createdAt: now }),
  ]);
  const { token } = await issueAccessToken(env, { userId, subscriberId, generation: 0 }, now);
  return { subscriberId, userId, email, password, token };
}

/** A second confirmed user of an existing subscriber, with a valid access token (it cannot log in by password). */
export async function createColleague(subscriberId: string) {
  const now = clock.now();
  const userId = crypto.randomUUID();
  const email = `colleague${++counter}-${userId.slice(0, 8)}@example.com`;
  await db().insert(users).values({ id: userId, subscriberId, forename: "Sam", email, passwordHash: "unused", emailConfirmedAt: now, createdAt: now });
  const { token } = await issueAccessToken(env, { userId, subscriberId, generation: 0 }, now);
  return { userId, email, token };
}

/** SQLite's plan for a Drizzle query, its steps joined by " | ": to pin which index a list query reads. */
export async function queryPlan(query: { toSQL(): { sql: string; params: unknown[] } }): Promise<string> {
  const { sql, params } = query.toSQL();
  const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<{ detail: string }>();
  return plan.results.map((r) => r.detail).join(" | ");
}
