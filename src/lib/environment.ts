import { fromBase64 } from "./crypto";

/**
 * Where the Worker runs, from the `ENVIRONMENT` var: "development" in wrangler.toml's top-level [vars]
 * (`wrangler dev`, tests), "production" in its production environment. Anything else, a missing value
 * included, counts as production: the safe side.
 */
export function isLocalDevelopment(env: { ENVIRONMENT?: string }): boolean {
  return env.ENVIRONMENT === "development";
}

type SecretName = "JWT_SECRET" | "ADMIN_TOKEN" | "ENCRYPTION_KEY";

/** Values published in .dev.vars.example, vitest.config.ts and the docs: known to everyone. */
const PUBLISHED_VALUES = new Set([
  "change-me",
  "change-me-to-at-least-32-random-bytes",
  "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
  "test-jwt-secret-0123456789abcdef0123456789abcdef",
  "test-admin-token",
]);
const MIN_TOKEN_LENGTH = 32;
const MIN_DISTINCT_CHARACTERS = 12;

/** Why a text secret is weak, or null: too short, published, or too few distinct characters to be random. */
function tokenWeakness(value: string | undefined): string | null {
  if (!value) return "is not set";
  if (PUBLISHED_VALUES.has(value)) return "is a published example value";
  if (value.length < MIN_TOKEN_LENGTH) return `is shorter than ${MIN_TOKEN_LENGTH} characters`;
  if (new Set(value).size < MIN_DISTINCT_CHARACTERS) return "does not look random";
  return null;
}

/** ENCRYPTION_KEY must be 32 random bytes: 32 printable characters are a password, not a key. */
function keyWeakness(value: string | undefined): string | null {
  if (!value) return "is not set";
  if (PUBLISHED_VALUES.has(value)) return "is a published example value";
  let raw: Uint8Array;
  try {
    raw = fromBase64(value);
  } catch {
    return "is not base64";
  }
  if (raw.length !== 32) return "is not base64 of exactly 32 bytes";
  if (raw.every((b) => b >= 0x20 && b < 0x7f) || new Set(raw).size < 16) return "is not 32 random bytes";
  return null;
}

const checked = new WeakMap<object, string[]>();

/**
 * The Worker refuses to serve outside local development while a secret is missing, weak or a published
 * example (a known JWT_SECRET forges sessions, a known ADMIN_TOKEN opens the operator API). Returns the
 * problems, empty when it may serve; checked (and logged) once per env object. Names secrets, never values.
 */
export function insecureConfiguration(env: Env): string[] {
  if (isLocalDevelopment(env)) return [];
  let problems = checked.get(env);
  if (!problems) {
    const found: [SecretName, string | null][] = [
      ["JWT_SECRET", tokenWeakness(env.JWT_SECRET)],
      ["ADMIN_TOKEN", tokenWeakness(env.ADMIN_TOKEN)],
      ["ENCRYPTION_KEY", keyWeakness(env.ENCRYPTION_KEY)],
    ];
    problems = found.filter(([, why]) => why !== null).map(([name, why]) => `${name} ${why}`);
    checked.set(env, problems);
    if (problems.length > 0) console.error(`Refusing to serve outside local development: ${problems.join("; ")}.`);
  }
  return problems;
}
