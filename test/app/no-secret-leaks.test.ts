import { afterEach, describe, expect, it, vi } from "vitest";
import { adminToken, api } from "../helpers";
import { linkToken, uniqueEmail } from "../support/auth";

afterEach(() => vi.restoreAllMocks());

describe("secrets after creation", () => {
  it("no response body and no console line contains a password, a session token or an API key", async () => {
    const printed: string[] = [];
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(" ")));
    }
    /** Every response body, except the one that creates the secret (login → token, POST /api/apikey → key). */
    const bodies: string[] = [];
    const call = async (path: string, init: Parameters<typeof api>[1] = {}, createsSecret = false) => {
      const res = await api(path, init);
      const text = await res.text();
      if (!createsSecret) bodies.push(text);
      return { status: res.status, text };
    };

    const email = uniqueEmail("leak");
    const password = "Initial-Secret-Pass-77";
    const newPassword = "Second-Secret-Pass-88";
    const weakAttempt = "password12345";

    expect((await call("/api/auth/register", { json: { forename: "Lea", email, password: weakAttempt } })).status).toBe(400);
    expect((await call("/api/auth/register", { json: { forename: "Lea", email, password } })).status).toBe(200);
    expect((await call("/api/auth/login", { json: { email, password } })).status).toBe(401);
    await call("/api/auth/confirm-email", { json: { token: await linkToken(email, "/confirm-email") } });

    const login = await call("/api/auth/login", { json: { email, password } }, true);
    const { token } = JSON.parse(login.text) as { token: string };
    const account = JSON.parse((await call("/api/account", { token })).text) as { subscriberId: string };
    await call(`/api/admin/subscriber/${account.subscriberId}/plan`, { method: "PUT", json: { plan: "Professional" }, token: adminToken() });

    const created = await call("/api/apikey", { json: { name: "leak check" }, token }, true);
    const { key, apiKeyId } = JSON.parse(created.text) as { key: string; apiKeyId: string };
    await call("/api/apikey", { token: key });
    await call("/api/account", { token: key });
    await call("/api/apikey", { json: { name: "from key" }, token: key });
    await call("/api/account", { token: `${token}x` });
    await call("/api/account", { token: `${key}x` });

    await call("/api/auth/forgot-password", { json: { email } });
    const resetToken = await linkToken(email, "/reset-password");
    await call("/api/auth/reset-password", { json: { token: resetToken, password: weakAttempt } });
    await call("/api/auth/reset-password", { json: { token: resetToken, password: newPassword } });
    await call("/api/auth/login", { json: { email, password } });
    await call("/api/auth/login", { json: { email, password: newPassword } }, true);
    await call("/api/account", { token });
    await call(`/api/apikey/${apiKeyId}`, { method: "DELETE", token: key });
    await call("/api/account", { token: key });
    await call("/api/admin/outbox", { token: adminToken() });

    const responses = bodies.join("\n");
    const consoleText = printed.join("\n");
    // The flow did print (the emails), so the scan below is looking at something.
    expect(consoleText).toContain("/confirm-email?token=");
    for (const secret of [password, newPassword, weakAttempt, token, key, adminToken(), key.slice(12)]) {
      expect(responses).not.toContain(secret);
      expect(consoleText).not.toContain(secret);
    }
    expect(responses).not.toMatch(/scrypt\$/);
  });
});
