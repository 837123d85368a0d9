// `npm run preflight`: can the production environment be deployed? Runs offline (CI has no Cloudflare
// account): builds it with `wrangler deploy --dry-run`, holds the gzipped bundle to its budget, checks that
// every binding, var and secret the code reads is declared, that the compatibility date is the newest the
// bundled runtime accepts and that migrations are in order. Exit code 1 names each failed check.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { unstable_readConfig } from "wrangler";

export const ENVIRONMENT = "production";
/**
 * Gzipped Worker bundle (the dashboard's static assets are uploaded apart and do not count). Today about
 * 266 KiB; Workers refuse more than 3 MiB on the free plan (10 MiB paid). The budget leaves room to grow and
 * still catches a heavy dependency pulled into the Worker by mistake.
 */
export const BUNDLE_BUDGET_KIB = 400;
const FREE_PLAN_LIMIT_KIB = 3 * 1024;

/** The config as wrangler resolves it for one environment (`undefined`: the top level, i.e. local). */
export function readWranglerConfig(env, configPath = "wrangler.toml") {
  return unstable_readConfig({ config: configPath, env }, { hideWarnings: true });
}

/** Every binding name a resolved config declares, by kind (vars included), [assets] and any kind added later. */
export function declaredBindings(config) {
  const names = new Map();
  const add = (name, kind) => name && names.set(name, kind);
  for (const name of Object.keys(config.vars ?? {})) add(name, "var");
  for (const binding of config.durable_objects?.bindings ?? []) add(binding.name, "durable object");
  for (const producer of config.queues?.producers ?? []) add(producer.binding, "queue producer");
  if (config.assets?.binding) add(config.assets.binding, "assets");
  for (const [kind, value] of Object.entries(config)) {
    // d1_databases, kv_namespaces, r2_buckets, analytics_engine_datasets, services, … all have `binding`.
    if (Array.isArray(value)) {
      for (const item of value) if (typeof item?.binding === "string") add(item.binding, kind);
    } else if (typeof value?.binding === "string" && kind !== "assets") {
      add(value.binding, kind);
    }
  }
  return names;
}

/** Secrets: the members of `interface DataSyncSecrets` in src/env.d.ts, each required unless marked `?`. */
export function declaredSecrets(envDts = readFileSync("src/env.d.ts", "utf8")) {
  const body = envDts.match(/interface DataSyncSecrets \{([\s\S]*?)\n\}/)?.[1] ?? "";
  return [...body.matchAll(/^\s*([A-Z][A-Z0-9_]*)(\??):/gm)]
    .map(([, name, optional]) => ({ name, required: optional !== "?" }))
    .filter((secret) => !secret.name.startsWith("TEST_"));
}

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The names the Worker's code reads from its env (`env.X`, `c.env.X`, `this.env.X`, `env["X"]`), with where. */
export function namesReadByCode(dir = "src") {
  const reads = new Map();
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(file, "utf8");
    for (const [, dotted, indexed] of text.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)\b|\[["']([A-Z][A-Z0-9_]*)["']\])/g)) {
      const name = dotted ?? indexed;
      if (!reads.has(name)) reads.set(name, relative(".", file));
    }
  }
  return reads;
}

/** Names the code reads that production does not declare, and local bindings production forgot. */
export function undeclaredNames({ reads, production, local, secrets }) {
  const problems = [];
  const secretNames = new Set(secrets.map((s) => s.name));
  for (const [name, file] of reads) {
    if (name.startsWith("TEST_")) continue;
    if (!production.has(name) && !secretNames.has(name)) problems.push(`${name} (read in ${file}) is not declared in [env.${ENVIRONMENT}] nor a secret in src/env.d.ts`);
  }
  for (const [name, kind] of local) {
    // Bindings are not inherited by an environment: one declared at the top level only is missing in production.
    if (!production.has(name)) problems.push(`${name} (${kind}) is declared for local development but not in [env.${ENVIRONMENT}]`);
  }
  return problems;
}

/** Values of production vars that would be wrong in production. */
export function productionVarProblems(vars) {
  const problems = [];
  for (const name of ["PUBLIC_URL", "JWT_ISSUER"]) {
    const value = vars[name] ?? "";
    if (!/^https:\/\//.test(value) || /localhost|127\.0\.0\.1/.test(value)) problems.push(`${name} = "${value}" must be a public https URL`);
  }
  if (vars.ALLOW_LOCAL_WEBHOOKS === "true") problems.push('ALLOW_LOCAL_WEBHOOKS must not be "true" in production');
  if (vars.ENVIRONMENT !== "production") problems.push(`ENVIRONMENT = "${vars.ENVIRONMENT ?? ""}" must be "production" (it prints email links and accepts weak secrets otherwise)`);
  return problems;
}

/** Migration files 0000_… numbered without gaps or repeats, in the same order as drizzle-kit's journal. */
export function migrationProblems(dir = "migrations") {
  const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
  const problems = [];
  files.forEach((file, i) => {
    const match = file.match(/^(\d{4})_[a-z0-9_]+\.sql$/);
    if (!match) problems.push(`${file}: not named NNNN_name.sql`);
    else if (Number(match[1]) !== i) problems.push(`${file}: expected number ${String(i).padStart(4, "0")} (gap or repeat)`);
    if (statSync(join(dir, file)).size === 0) problems.push(`${file}: empty`);
  });
  const journalPath = join(dir, "meta", "_journal.json");
  if (existsSync(journalPath)) {
    const tags = JSON.parse(readFileSync(journalPath, "utf8")).entries.map((e) => `${e.tag}.sql`);
    if (tags.join() !== files.join()) problems.push(`meta/_journal.json lists [${tags.join(", ")}] but the folder has [${files.join(", ")}]`);
  }
  return { files, problems };
}

/** The newest compatibility date the workerd binary that wrangler bundles accepts: it says so when asked for a later one. */
export function newestRuntimeDate() {
  const requireFromMiniflare = createRequire(createRequire(import.meta.url).resolve("miniflare"));
  const workerdBinary = requireFromMiniflare("workerd").default ?? requireFromMiniflare("workerd");
  const dir = mkdtempSync(join(tmpdir(), "preflight-workerd-"));
  try {
    writeFileSync(
      join(dir, "probe.capnp"),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "probe", worker = .probe)]);
const probe :Workerd.Worker = (modules = [(name = "probe.js", esModule = "export default { async test() {} }")], compatibilityDate = "2999-12-31");
`,
    );
    const run = spawnSync(workerdBinary, ["test", join(dir, "probe.capnp")], { encoding: "utf8", timeout: 30_000 });
    const newest = `${run.stdout}${run.stderr}`.match(/newest date supported by this server binary is "(\d{4}-\d{2}-\d{2})"/)?.[1];
    if (!newest) throw new Error(`workerd did not state its newest compatibility date: ${run.stderr || run.error}`);
    return newest;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The dashboard's [assets] directory is build output (git-ignored): build it when a fresh checkout lacks it. */
function buildAssetsIfMissing(config) {
  const scripts = JSON.parse(readFileSync("package.json", "utf8")).scripts ?? {};
  if (config.assets?.directory && !existsSync(config.assets.directory) && scripts.build) {
    execFileSync("npm", ["run", "build"], { stdio: ["ignore", "inherit", "inherit"] });
  }
}

/** `wrangler deploy --dry-run` of production into a temp dir: the gzipped size of what would be uploaded. */
function dryRunBundleKiB(config) {
  buildAssetsIfMissing(config);
  const outdir = mkdtempSync(join(tmpdir(), "preflight-bundle-"));
  try {
    execFileSync("wrangler", ["deploy", "--dry-run", "--env", ENVIRONMENT, "--outdir", outdir], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    });
    const modules = readdirSync(outdir).filter((f) => /\.(js|mjs|wasm)$/.test(f));
    const bytes = modules.reduce((sum, f) => sum + gzipSync(readFileSync(join(outdir, f))).length, 0);
    return bytes / 1024;
  } catch (err) {
    throw new Error(`wrangler deploy --dry-run --env ${ENVIRONMENT} failed:\n${err.stderr?.toString() || err.stdout?.toString() || err.message}`);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Queue names the code compares against (the dead-letter consumer is chosen by name). */
function queueNameProblems(config) {
  const source = readFileSync("src/services/webhook-queue.ts", "utf8");
  const problems = [];
  const consumers = new Set((config.queues?.consumers ?? []).map((c) => c.queue));
  for (const [, constant, name] of source.matchAll(/export const (WEBHOOK_\w*QUEUE_NAME) = "([^"]+)"/g)) {
    if (!consumers.has(name)) problems.push(`${constant} = "${name}" has no consumer in [env.${ENVIRONMENT}]`);
  }
  return problems;
}

/** Each Durable Object class is exported by the Worker and created by a migration. */
function durableObjectProblems(config) {
  const index = readFileSync(config.main ?? "src/index.ts", "utf8");
  const migrated = new Set((config.migrations ?? []).flatMap((m) => [...(m.new_sqlite_classes ?? []), ...(m.new_classes ?? [])]));
  return (config.durable_objects?.bindings ?? []).flatMap(({ name, class_name }) => [
    ...(new RegExp(`export\\s*\\{[^}]*\\b${class_name}\\b`).test(index) ? [] : [`${name}: class ${class_name} is not exported by ${config.main}`]),
    ...(migrated.has(class_name) ? [] : [`${name}: class ${class_name} is in no [[migrations]] entry`]),
  ]);
}

export function runPreflight() {
  const production = readWranglerConfig(ENVIRONMENT);
  const local = readWranglerConfig(undefined);
  const results = [];
  const check = (title, fn) => {
    try {
      const { ok, detail } = fn();
      results.push({ title, ok, detail });
    } catch (err) {
      results.push({ title, ok: false, detail: err.message });
    }
  };

  check(`production builds (wrangler deploy --dry-run --env ${ENVIRONMENT})`, () => {
    const kib = dryRunBundleKiB(production);
    return {
      ok: kib <= BUNDLE_BUDGET_KIB,
      detail: `gzipped bundle ${kib.toFixed(1)} KiB of the ${BUNDLE_BUDGET_KIB} KiB budget (free-plan limit ${FREE_PLAN_LIMIT_KIB} KiB)`,
    };
  });
  check("every binding, var and secret the code reads is declared for production", () => {
    const secrets = declaredSecrets();
    const problems = [
      ...undeclaredNames({ reads: namesReadByCode(), production: declaredBindings(production), local: declaredBindings(local), secrets }),
      ...productionVarProblems(production.vars ?? {}),
      ...queueNameProblems(production),
      ...durableObjectProblems(production),
      ...(production.observability?.enabled ? [] : [`[env.${ENVIRONMENT}.observability] enabled = true is missing (Workers Logs)`]),
    ];
    const deployDoc = existsSync("docs/deploy.md") ? readFileSync("docs/deploy.md", "utf8") : "";
    for (const { name } of secrets) if (!deployDoc.includes(name)) problems.push(`secret ${name} is not explained in docs/deploy.md`);
    return { ok: problems.length === 0, detail: problems.length ? problems.join("\n") : `${declaredBindings(production).size} bindings and vars, ${secrets.length} secrets` };
  });
  check("compatibility date is the newest the bundled runtime accepts", () => {
    const newest = newestRuntimeDate();
    return { ok: production.compatibility_date === newest, detail: `wrangler.toml ${production.compatibility_date}, workerd accepts up to ${newest}` };
  });
  check("migrations are numbered in order and match drizzle-kit's journal", () => {
    const { files, problems } = migrationProblems();
    return { ok: problems.length === 0, detail: problems.length ? problems.join("\n") : `${files.length} migration(s), ${files.at(-1)} last` };
  });
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = runPreflight();
  for (const { title, ok, detail } of results) {
    console.log(`${ok ? "✓" : "✗"} ${title}`);
    for (const line of detail.split("\n")) console.log(`    ${line}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(failed ? `\npreflight: ${failed} check(s) failed` : "\npreflight: production is deployable");
  process.exit(failed ? 1 : 0);
}
