import { type JWTPayload, SignJWT, decodeProtectedHeader, jwtVerify } from "jose";
import { sha256Hex } from "../lib/crypto";

export const ACCESS_TOKEN_TTL_SECONDS = 60 * 60;

interface SigningKey {
  kid: string;
  /** Imported once per isolate: jose would import raw key bytes again on every sign and verify. */
  key: CryptoKey;
}

const keyCache = new Map<string, Promise<SigningKey>>();

/** The `kid` is derived from the secret itself, so rotating `JWT_SECRET` needs no second setting. */
function signingKey(secret: string): Promise<SigningKey> {
  let cached = keyCache.get(secret);
  if (!cached) {
    const bytes = new TextEncoder().encode(secret);
    cached = Promise.all([
      sha256Hex(`datasync-jwt-kid:${secret}`),
      crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]),
    ]).then(([hex, key]) => ({ kid: hex.slice(0, 16), key }));
    keyCache.set(secret, cached);
  }
  return cached;
}

export interface AccessTokenClaims {
  userId: string;
  subscriberId: string;
  /** The user's session generation when the token was issued; a password reset moves it on. */
  generation: number;
}

export async function issueAccessToken(env: Env, claims: AccessTokenClaims, now: Date) {
  const { kid, key } = await signingKey(env.JWT_SECRET);
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expiresAt = issuedAt + ACCESS_TOKEN_TTL_SECONDS;
  const token = await new SignJWT({ sid: claims.subscriberId, gen: claims.generation })
    .setProtectedHeader({ alg: "HS256", typ: "JWT", kid })
    .setSubject(claims.userId)
    .setIssuer(env.JWT_ISSUER)
    .setAudience(env.JWT_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(crypto.randomUUID())
    .sign(key);
  return { token, expiry: new Date(expiresAt * 1000) };
}

/**
 * Tokens whose signature checked out, per isolate, until they expire: a client sends the same token on
 * every request, so its HMAC is checked once. Whether its session is still valid is the limiter's to say
 * on every request; a token signed with a secret since removed is refused (its `kid` must still match).
 */
const verifiedTokens = new Map<string, { claims: VerifiedAccessToken; expiresAtMs: number }>();
const VERIFIED_TOKENS_MAX = 10_000;

/** A verified token: its claims, its own id (`jti`, what a logout revokes) and when it expires. */
export interface VerifiedAccessToken extends AccessTokenClaims {
  sessionId: string;
  expiresAt: Date;
}

/**
 * Verifies signature (HS256 only), issuer, audience and expiry; returns null for any invalid token.
 * A cached token skips only the signature check: a revoked session (logout) is refused by the limiter.
 */

export async function verifyAccessToken(env: Env, token: string, now: Date): Promise<VerifiedAccessToken | null> {
  try {
    const { kid } = decodeProtectedHeader(token);
    const secrets = [env.JWT_SECRET, env.JWT_SECRET_PREVIOUS].filter((s): s is string => Boolean(s));
    const keys = await Promise.all(secrets.map(signingKey));
    const match = keys.find((k) => k.kid === kid);
    if (!match) return null;
    const verified = verifiedTokens.get(token);
    if (verified) return verified.expiresAtMs > now.getTime() ? verified.claims : null;
    const { payload } = await jwtVerify<JWTPayload & { sid?: unknown; gen?: unknown }>(token, match.key, {
      algorithms: ["HS256"],
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      requiredClaims: ["exp", "iat", "sub", "jti"],
      currentDate: now,
    });
    if (typeof payload.sub !== "string" || typeof payload.sid !== "string" || typeof payload.gen !== "number" || typeof payload.jti !== "string") {
      return null;
    }
    const claims: VerifiedAccessToken = {
      userId: payload.sub,
      subscriberId: payload.sid,
      generation: payload.gen,
      sessionId: payload.jti,
      expiresAt: new Date(payload.exp! * 1000),
    };
    if (verifiedTokens.size >= VERIFIED_TOKENS_MAX) verifiedTokens.delete(verifiedTokens.keys().next().value!);
    verifiedTokens.set(token, { claims, expiresAtMs: payload.exp! * 1000 });
    return claims;
  } catch {
    return null;
  }
}
