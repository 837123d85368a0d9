#!/usr/bin/env node
/**
 * Builds the agent as an installable npm package: one esbuild bundle (our code, zod, croner, aws4fetch,
 * ssh2-sftp-client) so the package has no dependencies to fetch and no TypeScript at run time, packed
 * with `npm pack` into dist/assets/downloads/ (served by the Worker as static assets):
 *   datasync-agent-<version>.tgz and the stable datasync-agent.tgz, each with a .sha256 beside it
 *   (sha256sum format), and latest.json ({ version, file, sha256 }) for `datasync-agent update`.
 *
 * Options (tests): --out DIR (default dist/assets/downloads), --version V (default AGENT_VERSION).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify, parseArgs } from "node:util";
import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");
const { values } = parseArgs({ options: { out: { type: "string" }, version: { type: "string" } } });
const versionSource = await readFile(join(ROOT, "agent/src/version.ts"), "utf8");
const version = values.version ?? /AGENT_VERSION = "([^"]+)"/.exec(versionSource)?.[1];
if (!version) throw new Error("agent/src/version.ts does not define AGENT_VERSION");
const out = resolve(values.out ?? join(ROOT, "dist/assets/downloads"));

/** Oldest Node with everything the agent uses unflagged: node:sqlite's backup(), fs.glob. */
const NODE_RANGE = ">=22.16";

const work = await mkdtemp(join(tmpdir(), "datasync-agent-build-"));
try {
  const packageDir = join(work, "package");
  await build({
    entryPoints: [join(ROOT, "agent/src/cli.ts")],
    outfile: join(packageDir, "dist/datasync-agent.mjs"),
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    // CommonJS dependencies (ssh2) use require() for Node built-ins and __dirname, which an ES module lacks.
    banner: {
      js: [
        'import { createRequire as __createRequire } from "node:module";',
        'import { fileURLToPath as __fileURLToPath } from "node:url";',
        "const require = __createRequire(import.meta.url);",
        "const __filename = __fileURLToPath(import.meta.url);",
        'const __dirname = __filename.slice(0, __filename.lastIndexOf("/"));',
      ].join(" "),
    },
    // ssh2's optional native helpers are required inside try/catch; without them it uses pure JS.
    external: ["cpu-features", "*.node"],
    logOverride: { "require-resolve-not-external": "silent" },
    logLevel: "warning",
    legalComments: "linked",
  });
  // --version only for tests: the bundle must report the version its package says.
  if (values.version) {
    const bundle = join(packageDir, "dist/datasync-agent.mjs");
    const text = await readFile(bundle, "utf8");
    await writeFile(bundle, text.replace(/AGENT_VERSION = "[^"]+"/, `AGENT_VERSION = ${JSON.stringify(version)}`));
  }
  await mkdir(join(packageDir, "bin"));
  await writeFile(
    join(packageDir, "bin/datasync-agent.mjs"),
    [
      "#!/usr/bin/env -S node --disable-warning=ExperimentalWarning",
      "// node:sqlite (the agent's state) is still marked experimental in Node 22: the warning says nothing useful.",
      'import { main } from "../dist/datasync-agent.mjs";',
      "",
      "process.exit(await main(process.argv.slice(2)));",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  await writeFile(
    join(packageDir, "package.json"),
    JSON.stringify(
      {
        name: "datasync-agent",
        version,
        description: "DataSync agent: discovers the databases on this machine and backs them up to your own destinations.",
        type: "module",
        bin: { "datasync-agent": "bin/datasync-agent.mjs" },
        files: ["bin", "dist", "README.md"],
        engines: { node: NODE_RANGE },
        os: ["linux", "darwin"],
        license: "UNLICENSED",
        dependencies: {},
      },
      null,
      2,
    ) + "\n",
  );
  await writeFile(
    join(packageDir, "README.md"),
    `# datasync-agent ${version}\n\nInstall with the command your DataSync dashboard shows (\`curl -fsSL <server>/install.sh | sh -s -- --token <registration token>\`).\nThen \`datasync-agent --help\`.\n`,
  );
  const { stdout } = await promisify(execFile)("npm", ["pack", "--json", "--pack-destination", work], { cwd: packageDir });
  const [{ filename }] = JSON.parse(stdout);
  await mkdir(out, { recursive: true });
  const versioned = `datasync-agent-${version}.tgz`;
  const stable = "datasync-agent.tgz";
  await copyFile(join(work, filename), join(out, versioned));
  await copyFile(join(work, filename), join(out, stable));
  const sha256 = createHash("sha256").update(await readFile(join(out, versioned))).digest("hex");
  for (const name of [versioned, stable]) await writeFile(join(out, `${name}.sha256`), `${sha256}  ${name}\n`);
  await writeFile(join(out, "latest.json"), JSON.stringify({ version, file: versioned, sha256 }, null, 2) + "\n");
  console.log(`Built ${join(out, versioned)} (sha256 ${sha256}).`);
} finally {
  await rm(work, { recursive: true, force: true });
}
