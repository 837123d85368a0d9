// `npm run deploy [-- --secrets-file <file>]`: the scriptable part of docs/deploy.md. Refuses, saying what to
// do, while the production D1 id is the placeholder, the preflight fails, wrangler is not signed in or a
// required secret is neither set on the Worker nor in the secrets file. Then: remote D1 migrations, the
// deploy, and the deep health check of the new version.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { ENVIRONMENT, declaredSecrets, readWranglerConfig, runPreflight } from "./preflight.mjs";

const PLACEHOLDER_ID = /^0{8}-0{4}-0{4}-0{4}-0{12}$/;

/** How to make each required secret's value (docs/deploy.md says the same). */
export const SECRET_RECIPES = {
  JWT_SECRET: "openssl rand -base64 48",
  ADMIN_TOKEN: "openssl rand -base64 32",
  ENCRYPTION_KEY: "openssl rand -base64 32   (base64 of exactly 32 bytes)",
};

class Refusal extends Error {}

function wrangler(args, { capture = false } = {}) {
  const options = { env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" }, encoding: "utf8" };
  if (capture) return spawnSync("wrangler", args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  try {
    execFileSync("wrangler", args, { ...options, stdio: "inherit" });
  } catch {
    throw new Refusal(`wrangler ${args.join(" ")} failed (its message is above).`);
  }
}

/** The production D1 database must be a real one: `wrangler d1 create` prints its id. */
export function databaseProblem(config) {
  const db = (config.d1_databases ?? []).find((d) => d.binding === "DB");
  if (!db) return `[env.${ENVIRONMENT}] has no D1 binding DB.`;
  if (!db.database_id || PLACEHOLDER_ID.test(db.database_id)) {
    return (
      `The production D1 database id in wrangler.toml is still the placeholder.\n` +
      `  Create the database:  npx wrangler d1 create ${db.database_name}\n` +
      `  then put the database_id it prints into [[env.${ENVIRONMENT}.d1_databases]] of wrangler.toml and commit it (docs/deploy.md, step 2).`
    );
  }
  return null;
}

/** Names in a secrets file (JSON object or KEY=value lines), and an ENCRYPTION_KEY that cannot work. */
export function readSecretsFile(path) {
  const text = readFileSync(path, "utf8");
  const values = text.trim().startsWith("{")
    ? JSON.parse(text)
    : Object.fromEntries(
        text
          .split("\n")
          .map((line) => line.match(/^\s*([A-Z][A-Z0-9_]*)\s*=\s*(.*)$/))
          .filter(Boolean)
          .map(([, name, value]) => [name, value.replace(/^["']|["']$/g, "")]),
      );
  const problems = [];
  for (const name of ["ENCRYPTION_KEY", "ENCRYPTION_KEY_PREVIOUS"]) {
    if (values[name] && Buffer.from(values[name], "base64").length !== 32) problems.push(`${name} in ${path} is not base64 of exactly 32 bytes.`);
  }
  return { names: Object.keys(values).filter((name) => values[name]), problems };
}

/** Required secrets that are neither on the Worker nor in the secrets file, each with how to set it. */
export function missingSecrets(required, present) {
  const missing = required.filter((name) => !present.has(name));
  if (missing.length === 0) return null;
  return (
    `Required secret(s) not set: ${missing.join(", ")}. For each one:\n` +
    missing.map((name) => `  ${SECRET_RECIPES[name] ?? "<value>"}  |  npx wrangler secret put ${name} --env ${ENVIRONMENT}`).join("\n") +
    `\n  or put them in a git-ignored file and run: npm run deploy -- --secrets-file <file>   (docs/deploy.md, step 4)`
  );
}

function secretsOnWorker() {
  const listed = wrangler(["secret", "list", "--env", ENVIRONMENT, "--format", "json"], { capture: true });
  // A Worker that was never deployed has no secrets yet; anything else is a real failure.
  if (listed.status !== 0) {
    if (/not found|does not exist|10007/i.test(`${listed.stdout}${listed.stderr}`)) return new Set();
    throw new Refusal(`wrangler secret list failed:\n${listed.stderr || listed.stdout}`);
  }
  return new Set(JSON.parse(listed.stdout).map((secret) => secret.name));
}

async function verify(publicUrl) {
  const url = new URL("/api/health?deep=1", publicUrl);
  // A first deploy's custom domain may need a few minutes for its certificate.
  for (let attempt = 1; attempt <= 12; attempt++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
      const body = await res.text();
      console.log(`GET ${url} → ${res.status} ${body}`);
      if (res.ok) return;
      if (res.status === 503) throw new Refusal(`The deployed Worker is unhealthy: ${body}\nSee docs/deploy.md, "Verify".`);
    } catch (err) {
      if (err instanceof Refusal) throw err;
      console.log(`GET ${url}: ${err.message} (attempt ${attempt} of 12)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
  throw new Refusal(`${url} did not answer 200 within 2 minutes. See docs/deploy.md, "Verify".`);
}

async function main(args) {
  const secretsFileIndex = args.indexOf("--secrets-file");
  const secretsFile = secretsFileIndex >= 0 ? args[secretsFileIndex + 1] : undefined;
  const config = readWranglerConfig(ENVIRONMENT);

  const dbProblem = databaseProblem(config);
  if (dbProblem) throw new Refusal(dbProblem);

  console.log("Preflight …");
  const failed = runPreflight().filter((r) => !r.ok);
  if (failed.length) throw new Refusal(`Preflight failed (run npm run preflight for details):\n${failed.map((r) => `  ${r.title}: ${r.detail}`).join("\n")}`);

  if (!process.env.CLOUDFLARE_API_TOKEN && wrangler(["whoami"], { capture: true }).stdout.includes("not authenticated")) {
    throw new Refusal("wrangler is not signed in: run npx wrangler login, or set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID (docs/deploy.md, step 1).");
  }

  const fromFile = secretsFile ? readSecretsFile(secretsFile) : { names: [], problems: [] };
  if (fromFile.problems.length) throw new Refusal(fromFile.problems.join("\n"));
  const required = declaredSecrets().filter((s) => s.required).map((s) => s.name);
  const secretsProblem = missingSecrets(required, new Set([...secretsOnWorker(), ...fromFile.names]));
  if (secretsProblem) throw new Refusal(secretsProblem);

  console.log("Applying D1 migrations to the production database …");
  wrangler(["d1", "migrations", "apply", "DB", "--env", ENVIRONMENT, "--remote"]);
  console.log("Deploying …");
  wrangler(["deploy", "--env", ENVIRONMENT, ...(secretsFile ? ["--secrets-file", secretsFile] : [])]);
  console.log("Verifying …");
  await verify(config.vars.PUBLIC_URL);
  console.log(`Deployed: ${config.vars.PUBLIC_URL}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    console.error(`\nnpm run deploy refused:\n${err.message}`);
    process.exit(1);
  }
}
