import { env } from "cloudflare:workers";
import { SignJWT, decodeProtectedHeader } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { base64url } from "../../src/lib/crypto";
import { setClock } from "../../src/lib/clock";
import { issueAccessToken, verifyAccessToken } from "../../src/services/access-token";
import { api } from "../helpers";
import { registerConfirmedAndLogIn } from "../support/auth";

afterEach(() => setClock(null));

const json = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));

/** A token like the real one (same claims and kid), with one thing changed. */
async function forge(
  real: string,
  change: { secret?: string; audience?: string; issuer?: string; expiresInSeconds?: number; subscriberId?: string } = {},
) {
  const { kid } = decodeProtectedHeader(real);
  const [, payloadPart] = real.split(".");
  const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payloadPart.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0))));
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: change.subscriberId ?? claims.sid, gen: claims.gen })
    .setProtectedHeader({ alg: "HS256", typ: "JWT", kid })
    .setSubject(claims.sub)
    .setIssuer(change.issuer ?? env.JWT_ISSUER)
    .setAudience(change.audience ?? env.JWT_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (change.expiresInSeconds ?? 3600))
    .setJti(crypto.randomUUID())
    .sign(new TextEncoder().encode(change.secret ?? env.JWT_SECRET));
}

async function expect401(token: string | undefined, authorization?: string) {
  const res = await api("/api/account", { token, headers: authorization ? { authorization } : undefined });
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toBe("Bearer");
  const body = await res.json<{ error: string; code: string }>();
  expect(body.code).toBe("unauthorized");
  expect(body.error).toBeTruthy();
}

describe("access tokens on authenticated endpoints", () => {
  it("carries HS256, a kid, and the sub/sid/iss/aud/jti/exp claims", async () => {
    const { token } = await registerConfirmedAndLogIn();
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg: "HS256", typ: "JWT", kid: expect.any(String) });
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    expect(claims).toMatchObject({ iss: env.JWT_ISSUER, aud: env.JWT_AUDIENCE, sub: expect.any(String), sid: expect.any(String), jti: expect.any(String) });
    expect(claims.exp - claims.iat).toBe(3600);
  });

  it("a token forged here the way the server signs is accepted (so the refusals below are about the one change)", async () => {
    const { token } = await registerConfirmedAndLogIn();
    expect((await api("/api/account", { token: await forge(token) })).status).toBe(200);
  });

  it("401 without a token, with a malformed header and with garbage", async () => {
    await expect401(undefined);
    await expect401(undefined, "Basic dXNlcjpwYXNz");
    await expect401("not.a.jwt");
    await expect401("ds_live_not-a-real-key");
  });

  it("401 for a token signed with another key", async () => {
    const { token } = await registerConfirmedAndLogIn();
    await expect401(await forge(token, { secret: "another-secret-another-secret-another-secret" }));
  });

  it("401 for an unsigned token (alg none)", async () => {
    const { token } = await registerConfirmedAndLogIn();
    const [header, payload] = token.split(".");
    const { kid } = decodeProtectedHeader(token);
    await expect401(`${json({ alg: "none", typ: "JWT", kid })}.${payload}.`);
    await expect401(`${header}.${payload}.`);
  });

  it("401 once the token has expired (1 hour)", async () => {
    const start = Date.parse("2026-11-27T10:00:00Z");
    setClock(() => start);
    const { token } = await registerConfirmedAndLogIn();
    setClock(() => start + 59 * 60 * 1000);
    expect((await api("/api/account", { token })).status).toBe(200);
    setClock(() => start + 60 * 60 * 1000 + 1000);
    await expect401(token);
  });

  it("401 for another audience or issuer", async () => {
    const { token } = await registerConfirmedAndLogIn();
    await expect401(await forge(token, { audience: "some-other-api" }));
    await expect401(await forge(token, { issuer: "https://evil.example" }));
  });

  it("401 for a validly signed token that names another subscriber than the user's", async () => {
    const { token } = await registerConfirmedAndLogIn();
    const other = await registerConfirmedAndLogIn();
    const otherSid = JSON.parse(atob(other.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sid;
    await expect401(await forge(token, { subscriberId: otherSid }));
  });
});

describe("verified tokens kept per isolate", () => {
  it("a token verified once is refused after its secret is rotated out, and after it expires", async () => {
    const now = new Date();
    const claims = { userId: crypto.randomUUID(), subscriberId: crypto.randomUUID(), generation: 0 };
    const { token, expiry } = await issueAccessToken(env, claims, now);
    const first = await verifyAccessToken(env, token, now);
    // The cached verification keeps the token's own id (what a logout revokes) and its expiry.
    expect(first).toEqual({ ...claims, sessionId: expect.any(String), expiresAt: expiry });
    expect(await verifyAccessToken(env, token, now)).toEqual(first);
    // Rotation: the old secret kept as previous still verifies; once it is removed, the token is refused.
    const rotated = { ...env, JWT_SECRET: "rotated-secret-5f0c3b9e8d7a6f5e4d3c2b1a0f9e8d7c", JWT_SECRET_PREVIOUS: env.JWT_SECRET };
    expect(await verifyAccessToken(rotated, token, now)).toEqual(first);
    expect(await verifyAccessToken({ ...rotated, JWT_SECRET_PREVIOUS: undefined }, token, now)).toBeNull();
    expect(await verifyAccessToken(env, token, new Date(now.getTime() + 3601_000))).toBeNull();
  });
});
