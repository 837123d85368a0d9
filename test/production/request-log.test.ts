import { env } from "cloudflare:workers";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { afterEach, describe, expect, it, vi } from "vitest";
import { errorText } from "../../src/lib/log";
import { PLAN_LIMITS } from "../../src/services/plan";
import { adminToken, api, createSubscriber } from "../helpers";
import { linkToken, uniqueEmail } from "../support/auth";

afterEach(() => vi.restoreAllMocks());

/** Everything the Worker prints while `run` runs, one entry per console call. */
async function capture(run: () => Promise<void>): Promise<string[]> {
  const printed: string[] = [];
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(" ")));
  }
  await run();
  vi.restoreAllMocks();
  return printed;
}

interface RequestLine {
  level: string;
  msg: string;
  requestId: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  subscriberId?: string;
  apiKeyId?: string;
}

describe("logs under the production configuration", () => {
  it("runs with production's vars", () => {
    expect(env.PUBLIC_URL).toMatch(/^https:\/\//);
    expect(env.ENVIRONMENT).toBe("production");
  });

  it("prints one JSON line per request with requestId, route, status, duration and subscriber, and no secret or address", async () => {
    const email = uniqueEmail("logs");
    const password = "Log-Line-Secret-Pass-31";
    const newPassword = "Log-Line-Second-Pass-47";
    const requestIds: Record<string, string> = {};
    let token = "";
    let key = "";
    let apiKeyId = "";
    let subscriberId = "";
    const emailTokens: string[] = [];

    const printed = await capture(async () => {
      const call = async (label: string, path: string, init: Parameters<typeof api>[1] = {}) => {
        const res = await api(path, init);
        requestIds[label] = res.headers.get("x-request-id")!;
        return res;
      };
      expect((await call("register", "/api/auth/register", { json: { forename: "Lou", email, password } })).status).toBe(200);
      emailTokens.push(await linkToken(email, "/confirm-email"));
      await call("confirm", "/api/auth/confirm-email", { json: { token: emailTokens[0] } });
      token = (await (await call("login", "/api/auth/login", { json: { email, password } })).json<{ token: string }>()).token;
      subscriberId = (await (await call("account", "/api/account", { token })).json<{ subscriberId: string }>()).subscriberId;
      await call("plan", `/api/admin/subscriber/${subscriberId}/plan`, { method: "PUT", json: { plan: "Professional" }, token: adminToken() });
      ({ key, apiKeyId } = await (await call("createKey", "/api/apikey", { json: { name: "log check" }, token })).json<{ key: string; apiKeyId: string }>());
      await call("withKey", "/api/account", { token: key });
      await call("badToken", "/api/account", { token: `${token}x` });
      await call("invalid", "/api/apikey", { json: { name: "" }, token });
      await call("unknownPath", "/api/no-such-thing?email=" + encodeURIComponent(email));
      await call("forgot", "/api/auth/forgot-password", { json: { email } });
      emailTokens.push(await linkToken(email, "/reset-password"));
      await call("reset", "/api/auth/reset-password", { json: { token: emailTokens[1], password: newPassword } });
      await call("revoke", `/api/apikey/${apiKeyId}`, { method: "DELETE", token: key });
    });

    const lines = printed.map((text) => {
      expect(() => JSON.parse(text), `not a JSON line: ${text}`).not.toThrow();
      return JSON.parse(text) as RequestLine;
    });
    const requestLine = (label: string) => {
      const line = lines.find((l) => l.msg === "request" && l.requestId === requestIds[label]);
      expect(line, `no request line for ${label}`).toBeDefined();
      return line!;
    };
    for (const line of lines.filter((l) => l.msg === "request")) {
      expect(line).toMatchObject({ level: "info", requestId: expect.any(String), method: expect.any(String), route: expect.any(String), status: expect.any(Number), durationMs: expect.any(Number) });
    }
    expect(requestLine("register")).toMatchObject({ method: "POST", route: "/api/auth/register", status: 200 });
    expect(requestLine("register").subscriberId).toBeUndefined();
    expect(requestLine("account")).toMatchObject({ method: "GET", route: "/api/account", status: 200, subscriberId });
    expect(requestLine("withKey")).toMatchObject({ route: "/api/account", status: 200, subscriberId, apiKeyId });
    expect(requestLine("badToken")).toMatchObject({ route: "/api/account", status: 401 });
    expect(requestLine("invalid")).toMatchObject({ route: "/api/apikey", status: 400, subscriberId });
    expect(requestLine("unknownPath")).toMatchObject({ route: "unmatched", status: 404 });
    expect(requestLine("plan")).toMatchObject({ method: "PUT", route: "/api/admin/subscriber/:id/plan", status: 200 });
    expect(requestLine("revoke")).toMatchObject({ method: "DELETE", route: "/api/apikey/:id", status: 200 });
    // Emails are stored, not printed: their id is logged, never the address or the link. Three: the
    // confirmation, the notice of the new API key and the password reset.
    expect(lines.filter((l) => l.msg === "email.stored")).toHaveLength(3);

    const text = printed.join("\n");
    const secrets = [password, newPassword, token, key, key.slice(12), adminToken(), env.JWT_SECRET, env.ENCRYPTION_KEY, email, ...emailTokens];
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it("names the subscriber on a request its plan refuses (429), not on a token revoked (401)", { timeout: 60_000 }, async () => {
    const limited = await createSubscriber({ plan: "Free" });
    const loggedOut = await createSubscriber({ plan: "Free" });
    const requestIds: Record<string, string> = {};
    const printed = await capture(async () => {
      for (let i = 0; i < PLAN_LIMITS.Free.requestsPerMinute; i++) expect((await api("/api/account", { token: limited.token })).status).toBe(200);
      const refused = await api("/api/account", { token: limited.token });
      expect(refused.status).toBe(429);
      requestIds.refused = refused.headers.get("x-request-id")!;
      expect((await api("/api/auth/logout", { method: "POST", token: loggedOut.token })).status).toBe(200);
      const revoked = await api("/api/account", { token: loggedOut.token });
      expect(revoked.status).toBe(401);
      requestIds.revoked = revoked.headers.get("x-request-id")!;
    });
    const requestLine = (id: string) => printed.map((text) => JSON.parse(text) as RequestLine).find((l) => l.msg === "request" && l.requestId === id)!;
    expect(requestLine(requestIds.refused)).toMatchObject({ route: "/api/account", status: 429, subscriberId: limited.subscriberId });
    expect(requestLine(requestIds.revoked)).toMatchObject({ route: "/api/account", status: 401 });
    expect(requestLine(requestIds.revoked).subscriberId).toBeUndefined();
  });
});

describe("errorText", () => {
  it("keeps a failed query's SQL and cause but not its bound values", () => {
    const failed = new DrizzleQueryError("insert into users (email) values (?)", ["jane@example.com"], new Error("UNIQUE constraint failed: users.email"));
    const text = errorText(failed);
    expect(text).toContain("insert into users");
    expect(text).toContain("UNIQUE constraint failed: users.email");
    expect(text).not.toContain("jane@example.com");
  });
});
