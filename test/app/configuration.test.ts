import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../../src/app";
import { CRON, scheduled } from "../../src/scheduled";
import { randomBase64, strongSecrets } from "../helpers";

afterEach(() => vi.restoreAllMocks());


const health = (workerEnv: Env) => app.fetch(new Request("http://localhost/api/health"), workerEnv, createExecutionContext());

describe("secrets outside local development", () => {
  it.each([
    ["the example JWT_SECRET", { JWT_SECRET: "change-me-to-at-least-32-random-bytes" }, "JWT_SECRET is a published example value"],
    ["a short JWT_SECRET", { JWT_SECRET: "Sh0rt-but-Varied-Secret!" }, "JWT_SECRET is shorter than 32 characters"],
    ["a repetitive ADMIN_TOKEN", { ADMIN_TOKEN: "abababababababababababababababababab" }, "ADMIN_TOKEN does not look random"],
    ["the example ADMIN_TOKEN", { ADMIN_TOKEN: "change-me" }, "ADMIN_TOKEN is a published example value"],
    ["no ADMIN_TOKEN", { ADMIN_TOKEN: undefined }, "ADMIN_TOKEN is not set"],
    ["the example ENCRYPTION_KEY", { ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" }, "ENCRYPTION_KEY is a published example value"],
    ["a printable ENCRYPTION_KEY", { ENCRYPTION_KEY: btoa("my very own passphrase, 32 chars") }, "ENCRYPTION_KEY is not 32 random bytes"],
    ["a 16-byte ENCRYPTION_KEY", { ENCRYPTION_KEY: randomBase64(16) }, "ENCRYPTION_KEY is not base64 of exactly 32 bytes"],
  ])("production refuses every request with %s, and logs which secret (never its value)", async (_, weak, problem) => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await health({ ...env, ...strongSecrets(), ...weak, ENVIRONMENT: "production" } as Env);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: "Server misconfigured; see the Worker's log.", code: "internal_error" });
    const logged = error.mock.calls.flat().join(" ");
    expect(logged).toContain(problem);
    for (const value of Object.values(weak)) if (value) expect(logged).not.toContain(value);
  });

  it("a missing ENVIRONMENT counts as production", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await health({ ...env, ENVIRONMENT: undefined } as unknown as Env)).status).toBe(500);
  });

  it("production with strong secrets serves; local development serves with the test secrets", async () => {
    expect((await health({ ...env, ...strongSecrets(), ENVIRONMENT: "production" } as Env)).status).toBe(200);
    expect(env.ENVIRONMENT).toBe("development");
    expect((await health(env)).status).toBe(200);
  });

  it("the cron handler refuses too", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const controller = { cron: CRON.everyMinute, scheduledTime: 0, noRetry() {} } as ScheduledController;
    await expect(scheduled(controller, { ...env, ENVIRONMENT: "production" } as Env)).rejects.toThrow("Server misconfigured");
  });
});
