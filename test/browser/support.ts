import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { promisify } from "node:util";
import { type Browser, type BrowserContext, type BrowserContextOptions, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { ApiClient, type LocalPlatform, startPlatform } from "../../agent/dev/local-platform.ts";

export const ROOT = resolve(import.meta.dirname, "../..");
const AGENT_CLI = join(ROOT, "agent/src/cli.ts");
const NODE = [process.execPath, "--disable-warning=ExperimentalWarning"];

/** Debian's Chromium (scripts/ci-services.sh installs it); Playwright's own download cannot work here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/** This suite's port range (18600-18699): `wrangler dev` and its inspector stay inside it. */
export const PORTS: [number, number] = [18600, 18699];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
}

/** What a spec file drives: its temp dir, platform and browser, and the current context and page. */
export interface BrowserSuite {
  dir: string;
  platform: LocalPlatform;
  browser: Browser;
  context: BrowserContext;
  page: Page;
}

/**
 * A spec file's set-up: its own platform (`wrangler dev` with fresh state in a temp dir) and Chromium,
 * started before its tests and stopped after them (`beforeStop` first, e.g. to end an agent process), and
 * a browser context with one page, for the whole file or fresh for each test (`freshContextPerTest`).
 * `use` is handed the suite whenever its context and page change.
 */
export function useBrowserSuite(
  name: string,
  use: (suite: BrowserSuite) => void,
  options: { context?: BrowserContextOptions; freshContextPerTest?: boolean; beforeStop?: () => void } = {},
): void {
  let suite: Partial<BrowserSuite> = {};
  const openPage = async () => {
    await suite.context?.close();
    // bypassCSP: axe-core is injected as a script, which the dashboard's CSP rightly refuses.
    const context = await suite.browser!.newContext({ bypassCSP: true, ...options.context });
    suite = { ...suite, context, page: await context.newPage() };
    use(suite as BrowserSuite);
  };
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), `datasync-browser-${name}-`));
    const [platform, browser] = await Promise.all([startPlatform(join(dir, "platform"), { ports: PORTS }), launchBrowser()]);
    suite = { dir, platform, browser };
    if (options.freshContextPerTest) use(suite as BrowserSuite);
    else await openPage();
  });
  if (options.freshContextPerTest) beforeEach(openPage);
  afterAll(async () => {
    options.beforeStop?.();
    await suite.browser?.close();
    await suite.platform?.stop();
    if (suite.dir) await rm(suite.dir, { recursive: true, force: true });
  });
}

/** axe-core in the page: no serious or critical violation may remain. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  expect(violations, `axe on ${what}`).toEqual([]);
}

/** The link of `path` (/confirm-email or /reset-password) in the newest email to `email`, from the operator outbox. */
export async function emailedLink(platform: LocalPlatform, email: string, path: string): Promise<string> {
  const response = await fetch(`${platform.url}/api/admin/outbox?to=${encodeURIComponent(email)}`, { headers: { authorization: `Bearer ${platform.adminToken}` } });
  expect(response.status).toBe(200);
  const emails = (await response.json()) as { text: string }[];
  const link = emails.map((e) => new RegExp(`https?://[^\\s]+${path}\\?token=[A-Za-z0-9_-]+`).exec(e.text)?.[0]).find(Boolean);
  if (!link) throw new Error(`No ${path} link emailed to ${email}`);
  // Emails carry PUBLIC_URL (http://localhost:8787); the test's platform listens elsewhere.
  const url = new URL(link);
  return `${platform.url}${url.pathname}${url.search}`;
}

/** Signs up through the dashboard, follows the emailed confirmation link and logs in; leaves the page on the overview. */
export async function signUpAndLogIn(page: Page, platform: LocalPlatform, account: { email: string; password: string; forename?: string }) {
  await page.goto(`${platform.url}/signup`);
  await page.getByLabel("Forename").fill(account.forename ?? "Ada");
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByLabel("Organisation name").fill("Analytical Engines Ltd");
  await page.getByRole("button", { name: "Sign up" }).click();
  // Registration hashes the password (scrypt): on a machine shared by several test runs that can take
  // longer than expect.poll's 1 s default.
  await expect.poll(() => page.getByRole("status").textContent(), { timeout: 15_000 }).toContain("Please check your email");

  await page.goto(await emailedLink(platform, account.email, "/confirm-email"));
  await expect.poll(() => page.getByRole("status").textContent(), { timeout: 15_000 }).toBe("Email confirmed. You can now log in.");

  await logIn(page, platform, account);
}

export async function logIn(page: Page, platform: LocalPlatform, account: { email: string; password: string }) {
  await page.goto(`${platform.url}/login`);
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Overview" }).waitFor();
}

/** Follows a main navigation link, as a user would. */
export const nav = (page: Page, name: string) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();

/** A bearer client of the same user, for setting up data the test is not about. */
export async function apiClient(platform: LocalPlatform, account: { email: string; password: string }): Promise<ApiClient> {
  const client = new ApiClient(platform.url);
  client.token = (await client.ok<{ token: string }>("POST", "/api/auth/login", account)).token;
  return client;
}

export interface RunningAgent {
  child: ChildProcess;
  output(): string;
}

/** Rows in the `orders` table of the shop database `startShopAgent` creates. */
export const SHOP_ROWS = 500;

/**
 * A real agent process from agent/, enrolled with `registrationToken` as "Shop server", whose SQLite
 * engine `shop` backs up `<dir>/*.db`: a `shop.db` of one table and `SHOP_ROWS` rows is made first.
 * Platform restores of SQLite become `<dir>/<name>.sqlite`.
 */
export async function startShopAgent(dir: string, platform: LocalPlatform, registrationToken: string): Promise<RunningAgent> {
  const shop = new DatabaseSync(join(dir, "shop.db"));
  shop.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)");
  for (let i = 0; i < SHOP_ROWS; i++) shop.exec(`INSERT INTO orders (total) VALUES (${i * 1.5})`);
  shop.close();
  const stateDir = join(dir, "agent-state");
  const config = join(dir, "agent.json");
  await writeFile(config, JSON.stringify({ displayName: "Shop server", engines: [{ type: "Sqlite", engineKey: "shop", paths: [join(dir, "*.db")] }] }));
  await promisify(execFile)(NODE[0], [...NODE.slice(1), AGENT_CLI, "enroll", "--server", platform.url, "--token", registrationToken, "--name", "Shop server", "--state-dir", stateDir]);
  const child = spawn(NODE[0], [...NODE.slice(1), AGENT_CLI, "run", "--config", config, "--state-dir", stateDir], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (t) => (output += t));
  child.stderr!.on("data", (t) => (output += t));
  return { child, output: () => output };
}
