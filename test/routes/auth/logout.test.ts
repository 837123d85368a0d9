import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { revokedSessions } from "../../../src/db/schema";
import { issueAccessToken } from "../../../src/services/access-token";
import { refreshTenant } from "../../../src/services/rate-limit";
import { api, createColleague, createSubscriber, db } from "../../helpers";
import { T0, time } from "../../support/manual-clock";

const logout = (token?: string) => api("/api/auth/logout", { method: "POST", token });
const account = (token: string) => api("/api/account", { token });

describe("POST /api/auth/logout", () => {
  it("ends the session of the token used at once; the user's other sessions and colleagues go on", async () => {
    time.freezeAt(T0);
    const { token, userId, subscriberId } = await createSubscriber();
    const { token: otherSession } = await issueAccessToken(env, { userId, subscriberId, generation: 0 }, new Date(T0));
    const colleague = await createColleague(subscriberId);

    const res = await logout(token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Logged out." });
    const after = await account(token);
    expect(after.status).toBe(401);
    expect(after.headers.get("WWW-Authenticate")).toBe("Bearer");
    expect((await account(otherSession)).status).toBe(200);
    expect((await account(colleague.token)).status).toBe(200);
    // Logging out twice with the same token: it is already refused.
    expect((await logout(token)).status).toBe(401);
  });

  it("is stored server-side until the token would expire: a reloaded limiter still refuses the token", async () => {
    time.freezeAt(T0);
    const { token, subscriberId } = await createSubscriber();
    expect((await logout(token)).status).toBe(200);
    const rows = await db().select().from(revokedSessions).where(eq(revokedSessions.subscriberId, subscriberId));
    expect(rows).toHaveLength(1);
    expect(rows[0].expiresAt).toEqual(new Date(T0 + 60 * 60_000));
    await refreshTenant(env, subscriberId);
    expect((await account(token)).status).toBe(401);
  });

  it("drops entries of tokens that have expired anyway on the next logout of the subscriber", async () => {
    time.freezeAt(T0);
    const { token, userId, subscriberId } = await createSubscriber();
    expect((await logout(token)).status).toBe(200);
    time.now = T0 + 2 * 60 * 60_000;
    const { token: later } = await issueAccessToken(env, { userId, subscriberId, generation: 0 }, new Date(time.now));
    expect((await logout(later)).status).toBe(200);
    const rows = await db().select().from(revokedSessions).where(eq(revokedSessions.subscriberId, subscriberId));
    expect(rows.map((r) => r.expiresAt)).toEqual([new Date(time.now + 60 * 60_000)]);
  });

  it("answers 401 without a token and 403 for an API key, which keeps working", async () => {
    const { token } = await createSubscriber({ plan: "Professional" });
    expect((await logout()).status).toBe(401);
    const { key } = await (await api("/api/apikey", { json: { name: "ci" }, token })).json<{ key: string }>();
    const res = await logout(key);
    expect(res.status).toBe(403);
    expect((await res.json<{ error: string }>()).error).toBe("Logging out needs a login session, not an API key.");
    expect((await account(key)).status).toBe(200);
  });

  it("does not touch another subscriber's sessions", async () => {
    const a = await createSubscriber();
    const b = await createSubscriber();
    expect((await logout(a.token)).status).toBe(200);
    expect((await account(b.token)).status).toBe(200);
  });
});
