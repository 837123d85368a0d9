import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { adminToken, api } from "../helpers";

/** Shared by the auth, API key and account tests: the public flows as a client runs them. */

export const uniqueEmail = (tag = "user") => `${tag}-${crypto.randomUUID().slice(0, 8)}@example.com`;
export const STRONG_PASSWORD = "Lighthouse-Orbit-42";

export interface OutboxEmail {
  emailId: string;
  to: string;
  subject: string;
  text: string;
  createdAt: string;
}

/** The emails sent to an address, newest first, as the operator API lists them. */
export async function emailsTo(address: string): Promise<OutboxEmail[]> {
  const res = await api(`/api/admin/outbox?to=${encodeURIComponent(address)}`, { token: adminToken() });
  expect(res.status).toBe(200);
  return res.json();
}

/** The token of the newest `/confirm-email` or `/reset-password` link emailed to the address. */
export async function linkToken(address: string, path: "/confirm-email" | "/reset-password"): Promise<string> {
  const email = (await emailsTo(address)).find((e) => e.text.includes(`${env.PUBLIC_URL}${path}?token=`));
  const match = email?.text.match(new RegExp(`${path}\\?token=([A-Za-z0-9_-]+)`));
  if (!match) throw new Error(`no ${path} link emailed to ${address}`);
  return match[1];
}

export async function register(input: { email?: string; password?: string; forename?: string; organisationName?: string } = {}) {
  const account = { forename: "Jane", email: uniqueEmail(), password: STRONG_PASSWORD, ...input };
  const res = await api("/api/auth/register", { json: account });
  expect(res.status).toBe(200);
  return account;
}

export async function login(email: string, password: string) {
  return api("/api/auth/login", { json: { email, password } });
}

/** The test service's own origin, which cookie-authenticated writes must send. */
export const ORIGIN = "http://localhost";

/** Logs in through POST /api/auth/session and returns the cookie pair a browser would send back. */
export async function startSession(email: string, password: string) {
  const res = await api("/api/auth/session", { json: { email, password }, headers: { origin: ORIGIN } });
  expect(res.status, await res.clone().text()).toBe(200);
  const setCookie = res.headers.get("set-cookie")!;
  return { res, setCookie, cookie: setCookie.split(";")[0] };
}

/** Register, follow the emailed confirmation link and log in: a real session for a fresh subscriber. */
export async function registerConfirmedAndLogIn(input: { email?: string; password?: string } = {}) {
  const account = await register(input);
  const confirmed = await api("/api/auth/confirm-email", { json: { token: await linkToken(account.email, "/confirm-email") } });
  expect(confirmed.status).toBe(200);
  const res = await login(account.email, account.password);
  expect(res.status).toBe(200);
  const { token } = await res.json<{ token: string }>();
  return { ...account, token };
}
