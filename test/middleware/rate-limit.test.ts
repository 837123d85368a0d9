import { describe, expect, it } from "vitest";
import { LOGIN_FAILURES, PUBLIC_RATE_LIMITS, type PublicScope } from "../../src/services/rate-limit";
import { api, createSubscriber } from "../helpers";
import { T0, time } from "../support/manual-clock";

let ipCounter = 0;
/** A client IP no other test uses (storage is shared by the tests of a file). */
const freshIp = () => `203.0.113.${++ipCounter}`;

const login = (json: unknown, headers: Record<string, string> = {}) => api("/api/auth/login", { json, headers });

describe("failed logins per email", () => {
  it("after 10 failures in 15 minutes login is 429 even with the right password, until the window moves on", async () => {
    time.freezeAt(T0);
    const { email, password } = await createSubscriber();
    for (let i = 0; i < LOGIN_FAILURES.limit; i++) {
      time.now = T0 + i * 1000;
      expect((await login({ email, password: "wrong password!!" })).status).toBe(401);
    }
    const locked = await login({ email, password });
    expect(locked.status).toBe(429);
    expect(await locked.json()).toMatchObject({ error: "Rate limit exceeded.", code: "rate_limited" });
    // The first failure (at T0) leaves the 15-minute window at T0 + 900 s; now is T0 + 9 s.
    expect(locked.headers.get("retry-after")).toBe("891");

    time.now = T0 + 900_000 - 1;
    expect((await login({ email, password })).status).toBe(429);
    time.now = T0 + 900_000;
    const unlocked = await login({ email, password });
    expect(unlocked.status).toBe(200);
    expect(await unlocked.json()).toHaveProperty("token");
  });

  it("a successful login clears the count; emails are counted case-insensitively", async () => {
    time.freezeAt(T0);
    const { email, password } = await createSubscriber();
    for (let i = 0; i < LOGIN_FAILURES.limit - 1; i++) {
      expect((await login({ email: email.toUpperCase(), password: "wrong password!!" })).status).toBe(401);
    }
    expect((await login({ email, password })).status).toBe(200);
    for (let i = 0; i < LOGIN_FAILURES.limit; i++) {
      expect((await login({ email, password: "wrong password!!" })).status).toBe(401);
    }
    expect((await login({ email: email.toUpperCase(), password })).status).toBe(429);
  });

  it("one email's lockout does not touch another's", async () => {
    time.freezeAt(T0);
    const victim = await createSubscriber();
    const other = await createSubscriber();
    for (let i = 0; i < LOGIN_FAILURES.limit; i++) await login({ email: victim.email, password: "wrong password!!" });
    expect((await login({ email: victim.email, password: victim.password })).status).toBe(429);
    expect((await login({ email: other.email, password: other.password })).status).toBe(200);
  });
});

const PUBLIC_PATHS: [PublicScope, string][] = [
  ["register", "/api/auth/register"],
  ["confirmEmail", "/api/auth/confirm-email"],
  ["forgotPassword", "/api/auth/forgot-password"],
  ["resetPassword", "/api/auth/reset-password"],
  ["login", "/api/auth/login"],
  ["agentRegister", "/api/agent/register"],
];

describe("public endpoints per client IP", () => {
  it.each(PUBLIC_PATHS)("%s: the limit per IP per minute, then 429 with Retry-After", async (scope, path) => {
    time.freezeAt(T0);
    const { limit } = PUBLIC_RATE_LIMITS[scope];
    const ip = freshIp();
    // An empty body is refused by validation (400) without creating anything, and still counts.
    const send = (clientIp: string) => api(path, { json: {}, headers: { "CF-Connecting-IP": clientIp } });

    const first = await send(ip);
    expect(first.status).toBe(400);
    expect(first.headers.get("ratelimit-limit")).toBe(String(limit));
    expect(first.headers.get("ratelimit-remaining")).toBe(String(limit - 1));
    time.now = T0 + 20_000;
    const rest = await Promise.all(Array.from({ length: limit - 1 }, () => send(ip)));
    expect(rest.map((r) => r.status)).toEqual(Array(limit - 1).fill(400));

    const limited = await send(ip);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ error: "Rate limit exceeded.", code: "rate_limited" });
    expect(limited.headers.get("retry-after")).toBe("40");

    expect((await send(freshIp())).status).toBe(400);
    time.now = T0 + 60_000;
    expect((await send(ip)).status).toBe(400);
  });

  it("each endpoint has its own budget per IP", async () => {
    time.freezeAt(T0);
    const ip = freshIp();
    const headers = { "CF-Connecting-IP": ip };
    await Promise.all(Array.from({ length: 30 }, () => api("/api/auth/forgot-password", { json: {}, headers })));
    expect((await api("/api/auth/forgot-password", { json: {}, headers })).status).toBe(429);
    expect((await api("/api/auth/register", { json: {}, headers })).status).toBe(400);
  });

  it("a request that did not come through Cloudflare's edge (no CF-Connecting-IP) is not counted per IP", async () => {
    const res = await api("/api/auth/forgot-password", { json: { email: "nobody@example.com" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-limit")).toBeNull();
  });
});
