/**
 * `datasync-agent update`: installs the tarball the platform serves (/downloads/latest.json names it)
 * with npm into the prefix this agent is installed in, after checking its SHA-256.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { apiUrl } from "./connection.ts";

export interface Release {
  version: string;
  file: string;
  sha256: string;
}

/** npm's global layout: <prefix>/lib/node_modules/datasync-agent/…; undefined for a source checkout. */
export function installedPrefix(moduleUrl: string = import.meta.url): string | undefined {
  const path = moduleUrl.startsWith("file:") ? fileURLToPath(moduleUrl) : moduleUrl;
  const marker = "/lib/node_modules/datasync-agent/";
  const at = path.lastIndexOf(marker);
  return at > 0 ? path.slice(0, at) : undefined;
}

async function download(url: URL): Promise<Buffer> {
  const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  if (!response.ok) throw new Error(`GET ${url} answered HTTP ${response.status}.`);
  return Buffer.from(await response.arrayBuffer());
}

export async function latestRelease(server: string): Promise<Release> {
  let release: Partial<Release>;
  try {
    release = JSON.parse((await download(apiUrl(server, "/downloads/latest.json"))).toString("utf8"));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    release = {}; // e.g. the dashboard's index.html: this platform serves no agent release
  }
  if (!release.version || !release.file || !/^[0-9a-f]{64}$/.test(release.sha256 ?? "") || release.file.includes("/")) {
    throw new Error(`${server}/downloads/latest.json does not describe an agent release.`);
  }
  return release as Release;
}

export interface UpdateOptions {
  server: string;
  currentVersion: string;
  prefix: string;
  /** Reinstall even when the served version is the one running. */
  force?: boolean;
  print: (line: string) => void;
}

/** Returns the version installed, or undefined when this agent is already the served version. */
export async function updateAgent(options: UpdateOptions): Promise<string | undefined> {
  const release = await latestRelease(options.server);
  if (release.version === options.currentVersion && !options.force) {
    options.print(`datasync-agent ${options.currentVersion} is the version ${options.server} serves: nothing to update.`);
    return undefined;
  }
  const published = (await download(apiUrl(options.server, `/downloads/${release.file}.sha256`))).toString("utf8").split(/\s+/)[0];
  const tarball = await download(apiUrl(options.server, `/downloads/${release.file}`));
  const actual = createHash("sha256").update(tarball).digest("hex");
  if (actual !== published || actual !== release.sha256) {
    throw new Error(`The downloaded ${release.file} has SHA-256 ${actual}, but ${options.server} publishes ${published}: nothing was installed.`);
  }
  const dir = await mkdtemp(join(tmpdir(), "datasync-agent-update-"));
  try {
    const file = join(dir, release.file);
    await writeFile(file, tarball);
    await promisify(execFile)("npm", ["install", "--global", "--prefix", options.prefix, "--no-audit", "--no-fund", file], { timeout: 300_000 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  options.print(`Installed datasync-agent ${release.version} (was ${options.currentVersion}; SHA-256 ${actual} checked) into ${options.prefix}.`);
  return release.version;
}
