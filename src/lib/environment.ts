/**
 * Where the Worker runs, from the `ENVIRONMENT` var: "development" in wrangler.toml's top-level [vars]
 * (`wrangler dev`, tests), "production" in its production environment. Anything else, a missing value
 * included, counts as production: the safe side.
 */
export function isLocalDevelopment(env: { ENVIRONMENT?: string }): boolean {
  return env.ENVIRONMENT === "development";
}
