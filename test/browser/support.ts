import { createRequire } from "node:module";
import { type Browser, type Page, chromium } from "playwright-core";
import { expect } from "vitest";
import type { LocalPlatform } from "../../agent/dev/local-platform.ts";

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
  // Sign-up hashes the password (scrypt): seconds on a busy machine, past expect.poll's default 1 s.
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
