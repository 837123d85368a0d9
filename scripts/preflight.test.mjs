// node --test: the preflight's and the deploy script's checks, offline (npm run test:scripts).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { databaseProblem, missingSecrets, readSecretsFile } from "./deploy.mjs";
import { declaredBindings, declaredSecrets, migrationProblems, newestRuntimeDate, productionVarProblems, readWranglerConfig, undeclaredNames } from "./preflight.mjs";

const scratch = mkdtempSync(join(tmpdir(), "preflight-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("bindings and vars", () => {
  it("the repository's production environment declares everything the code reads", () => {
    const production = declaredBindings(readWranglerConfig("production"));
    const local = declaredBindings(readWranglerConfig(undefined));
    const reads = new Map([["DB", "src/app.ts"], ["JWT_SECRET", "src/services/access-tokens.ts"]]);
    assert.deepEqual(undeclaredNames({ reads, production, local, secrets: declaredSecrets() }), []);
  });

  it("names a var the code reads that production does not declare", () => {
    const problems = undeclaredNames({ reads: new Map([["SLACK_URL", "src/x.ts"]]), production: new Map(), local: new Map(), secrets: [] });
    assert.match(problems[0], /SLACK_URL \(read in src\/x\.ts\) is not declared/);
  });

  it("names a binding declared only at the top level (bindings are not inherited by environments)", () => {
    const problems = undeclaredNames({ reads: new Map(), production: new Map(), local: new Map([["CACHE", "kv_namespaces"]]), secrets: [] });
    assert.match(problems[0], /CACHE \(kv_namespaces\) is declared for local development but not in \[env.production\]/);
  });

  it("counts the top-level [assets] binding (dashboard, agent downloads) as declared in production (assets are inherited)", () => {
    assert.equal(declaredBindings(readWranglerConfig(undefined)).get("ASSETS"), "assets");
    assert.equal(declaredBindings(readWranglerConfig("production")).get("ASSETS"), "assets");
  });

  it("secrets come from src/env.d.ts, optional ones marked, test-only ones left out", () => {
    const secrets = declaredSecrets();
    assert.deepEqual(secrets.find((s) => s.name === "JWT_SECRET"), { name: "JWT_SECRET", required: true });
    assert.deepEqual(secrets.find((s) => s.name === "JWT_SECRET_PREVIOUS"), { name: "JWT_SECRET_PREVIOUS", required: false });
    assert.equal(secrets.some((s) => s.name.startsWith("TEST_")), false);
  });

  it("refuses local values in production vars", () => {
    const problems = productionVarProblems({ PUBLIC_URL: "http://localhost:8787", JWT_ISSUER: "https://api.data-sync.co.uk", ENVIRONMENT: "development" });
    assert.equal(problems.length, 2);
    assert.match(problems.join("\n"), /PUBLIC_URL.*public https URL/);
    assert.match(problems.join("\n"), /ENVIRONMENT = "development" must be "production"/);
  });
});

describe("migrations", () => {
  const folder = (files, journal) => {
    const dir = mkdtempSync(join(scratch, "migrations-"));
    for (const file of files) writeFileSync(join(dir, file), "select 1;");
    if (journal) {
      mkdirSync(join(dir, "meta"));
      writeFileSync(join(dir, "meta", "_journal.json"), JSON.stringify({ entries: journal.map((tag, idx) => ({ idx, tag })) }));
    }
    return dir;
  };

  it("accepts the repository's migrations", () => assert.deepEqual(migrationProblems().problems, []));

  it("names a gap, a repeat and a journal that disagrees", () => {
    assert.match(migrationProblems(folder(["0000_init.sql", "0002_more.sql"])).problems[0], /0002_more.sql: expected number 0001/);
    assert.match(migrationProblems(folder(["0000_init.sql", "0001_a.sql", "0001_b.sql"])).problems[0], /0001_b.sql: expected number 0002/);
    assert.match(migrationProblems(folder(["0000_init.sql", "0001_a.sql"], ["0000_init"])).problems[0], /_journal.json lists/);
  });
});

describe("runtime", () => {
  it("reads the newest compatibility date from the bundled workerd", () => assert.match(newestRuntimeDate(), /^\d{4}-\d{2}-\d{2}$/));
});

describe("npm run deploy", () => {
  it("refuses while the production D1 id is the placeholder, saying how to create the database", () => {
    const run = spawnSync(process.execPath, ["scripts/deploy.mjs"], { encoding: "utf8" });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /still the placeholder/);
    assert.match(run.stderr, /npx wrangler d1 create datasync-production/);
  });

  it("accepts a real id", () => {
    assert.equal(databaseProblem({ d1_databases: [{ binding: "DB", database_name: "x", database_id: "4c1b0f5e-2d3a-4b6c-8e9f-0a1b2c3d4e5f" }] }), null);
  });

  it("lists each missing required secret with how to make and set it", () => {
    const message = missingSecrets(["JWT_SECRET", "ADMIN_TOKEN", "ENCRYPTION_KEY"], new Set(["ADMIN_TOKEN"]));
    assert.match(message, /not set: JWT_SECRET, ENCRYPTION_KEY/);
    assert.match(message, /openssl rand -base64 48 {2}\| {2}npx wrangler secret put JWT_SECRET --env production/);
    assert.equal(missingSecrets(["JWT_SECRET"], new Set(["JWT_SECRET"])), null);
  });

  it("reads a secrets file's names and refuses an ENCRYPTION_KEY of the wrong length", () => {
    const path = join(scratch, "secrets.env");
    writeFileSync(path, `JWT_SECRET=abc\nENCRYPTION_KEY=${Buffer.alloc(16).toString("base64")}\n# comment\n`);
    const { names, problems } = readSecretsFile(path);
    assert.deepEqual(names, ["JWT_SECRET", "ENCRYPTION_KEY"]);
    assert.match(problems[0], /ENCRYPTION_KEY .* exactly 32 bytes/);
  });
});
