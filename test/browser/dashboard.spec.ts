import { join } from "node:path";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import type { LocalPlatform } from "../../agent/dev/local-platform.ts";
import { apiClient, expectAccessible, nav as navOn, ROOT, type RunningAgent, signUpAndLogIn, startShopAgent, useBrowserSuite } from "./support.ts";

const PASSWORD = "Correct-Horse-Battery-9";
/** Write the README's screenshots (docs/) when asked: `SCREENSHOTS=1 npm run test:browser`. */
const SCREENSHOTS = process.env.SCREENSHOTS === "1";

let dir: string;
let platform: LocalPlatform;
let page: Page;
let agent: RunningAgent | undefined;
const liveFrames: string[] = [];
const email = `dashboard-${Date.now()}@example.com`;

useBrowserSuite("dashboard", (suite) => ({ dir, platform, page } = suite), {
  context: { viewport: { width: 1280, height: 900 }, permissions: ["clipboard-read", "clipboard-write"] },
  beforeStop: () => agent?.child.kill("SIGTERM"),
});
beforeAll(() => {
  // What the live feed (GET /api/live) tells this page, frame by frame.
  page.on("websocket", (socket) => socket.on("framereceived", ({ payload }) => liveFrames.push(String(payload))));
});

const nav = (name: string) => navOn(page, name);

describe("the dashboard, from sign-up to a backup file", () => {
  it("installs an agent, creates a job, runs it and sees it succeed live", async () => {
    await signUpAndLogIn(page, platform, { email, password: PASSWORD });
    await expect.poll(() => page.getByRole("main").textContent()).toContain("No agents yet.");

    // Agents: the one-line installer and the manual commands carry a fresh registration token, each with a copy button.
    await nav("Agents");
    const commands = page.getByLabel("Install commands", { exact: true });
    await commands.waitFor();
    const text = (await commands.textContent()) ?? "";
    expect(text).toContain(`datasync-agent enroll --server ${platform.url} --token `);
    const registrationToken = /--token (\S+)/.exec(text)![1];
    const oneLine = (await page.getByLabel("Install command", { exact: true }).textContent()) ?? "";
    expect(oneLine).toContain(`${platform.url}/install.sh`);
    expect(oneLine).toContain(registrationToken);
    await page.getByRole("button", { name: "Copy install command", exact: true }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(oneLine);
    await page.getByRole("button", { name: "Copy install commands" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(text);
    await expect.poll(() => page.getByRole("status").filter({ hasText: "agent" }).textContent()).toBe("Waiting for an agent to connect…");
    await expectAccessible(page, "agents");

    // A real agent process from agent/, enrolled with the token from the page.
    agent = await startShopAgent(dir, platform, registrationToken);

    // The page turns green without a reload.
    await page.getByText("Connected: Shop server").waitFor({ timeout: 30_000 });
    await page.getByRole("row", { name: /Shop server/ }).getByText("Online").waitFor();

    // A destination in a temp folder.
    await nav("Destinations");
    await expectAccessible(page, "destinations (empty)");
    await page.getByLabel("Name").fill("Local folder");
    await page.getByLabel("Folder path").fill(join(dir, "backups"));
    await page.getByRole("button", { name: "Add destination" }).click();
    await page.getByRole("cell", { name: "Local folder", exact: true }).waitFor();

    // A job with the pickers and the cron helper.
    await nav("Backup jobs");
    await page.getByText("No backup jobs yet.").waitFor();
    await expectAccessible(page, "backup jobs (empty)");
    await page.getByRole("link", { name: "New backup job" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Shop nightly");
    await page.getByLabel("shop (Sqlite)").check({ timeout: 30_000 });
    await page.getByLabel("Local folder (LocalStorage)").check();
    await page.getByLabel("Cron expression").fill("30 1 * * 1-5");
    const runs = page.locator(".cron-helper li");
    await expect.poll(() => runs.count()).toBe(5);
    await expectAccessible(page, "new backup job");
    await page.getByLabel("Cron expression").fill("61 * * * *");
    await expect.poll(() => page.locator(".cron-helper").textContent()).not.toContain("Next 5 runs");
    await page.getByLabel("Cron expression").fill("0 2 * * *");
    await page.getByRole("button", { name: "Create backup job" }).click();
    await page.getByRole("heading", { name: "Shop nightly" }).waitFor();
    await page.getByText("No runs yet.").waitFor();

    // Run now: the run appears and reaches Success without a reload.
    await page.getByRole("button", { name: "Run now" }).click();
    await expect.poll(() => page.getByRole("status").filter({ hasText: "Backup triggered." }).count(), { timeout: 15_000 }).toBe(1);
    await page.getByRole("table").getByText("Success").waitFor({ timeout: 30_000 });
    // The run's start and its result came over the live feed from the real agent's reports.
    // The feed's keep-alive answers are plain "pong" frames, not events.
    const runEvents = liveFrames
      .filter((f) => f !== "pong")
      .map((f) => JSON.parse(f) as { type: string; status?: string })
      .filter((e) => e.type === "backup.run");
    expect(runEvents.map((e) => e.status)).toEqual(expect.arrayContaining(["Running", "Success"]));
    await expectAccessible(page, "backup job");
    if (SCREENSHOTS) await page.screenshot({ path: join(ROOT, "docs/dashboard-job.png"), fullPage: true });

    // The file is in Backup files.
    await page.getByRole("link", { name: "This job's backup files" }).click();
    await page.getByRole("cell", { name: /^shop_/ }).first().waitFor();
    await expectAccessible(page, "backup files");

    await nav("Overview");
    await page.getByText("1 of 1").waitFor();
    await page.getByRole("link", { name: "Shop nightly" }).first().waitFor();
    if (SCREENSHOTS) await page.screenshot({ path: join(ROOT, "docs/dashboard-overview.png"), fullPage: true });
  });

  it("sees an agent go offline live", async () => {
    await nav("Agents");
    await page.getByRole("row", { name: /Shop server/ }).getByText("Online").waitFor();
    agent!.child.kill("SIGTERM");
    await page.getByRole("row", { name: /Shop server/ }).getByText("Offline").waitFor({ timeout: 15_000 });
    await page.getByText("Waiting for an agent to connect…").waitFor();
  });

  it("pages through long lists", async () => {
    const client = await apiClient(platform, { email, password: PASSWORD });
    const { subscriberId } = await client.ok<{ subscriberId: string }>("GET", "/api/account");
    await client.call("PUT", `/api/admin/subscriber/${subscriberId}/plan`, { plan: "Ultimate" }, platform.adminToken);
    for (let i = 1; i <= 24; i++) await client.ok("POST", "/api/destination", { name: `Disk ${String(i).padStart(2, "0")}`, type: "LocalStorage", settings: { path: `/b/${i}` } });

    // Made through the API, not this page: a reload shows them at once (lists stay cached 10 s otherwise).
    await nav("Destinations");
    await page.reload();
    await page.getByText("Page 1 of 2 (25 in all)").waitFor();
    expect(await page.locator("tbody tr").count()).toBe(20);
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByText("Page 2 of 2 (25 in all)").waitFor();
    expect(await page.locator("tbody tr").count()).toBe(5);
    await expectAccessible(page, "destinations, page 2");

    // Logs are paged by the API (X-Total-Count).
    await nav("Logs");
    await page.getByRole("table").waitFor();
    await expectAccessible(page, "logs");
  });

  it("edits a job, and on a Professional+ plan makes an API key and a webhook shown once, and a write-only credential", async () => {
    await nav("Backup jobs");
    await page.getByRole("link", { name: "Shop nightly" }).click();
    await page.getByRole("link", { name: "Edit" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Shop nightly (edited)");
    await page.getByRole("button", { name: "Save backup job" }).click();
    await page.getByRole("heading", { level: 1, name: "Shop nightly (edited)" }).waitFor();

    // The plan is Ultimate since the paging test.
    await nav("API keys");
    await page.getByLabel("Key name").fill("CI pipeline");
    await page.getByRole("button", { name: "Create API key" }).click();
    const key = (await page.getByLabel("API key", { exact: true }).textContent()) ?? "";
    expect(key).toMatch(/^ds_live_/);
    const viaKey = await fetch(`${platform.url}/api/account`, { headers: { authorization: `Bearer ${key}` } });
    expect(viaKey.status).toBe(200);
    await page.getByRole("cell", { name: "CI pipeline", exact: true }).waitFor();
    await expectAccessible(page, "API keys with a new key");

    await nav("Webhooks");
    await page.getByLabel("URL").fill("http://localhost:9/hooks/datasync");
    await page.getByRole("button", { name: "Add webhook" }).click();
    expect(await page.getByRole("region", { name: "Signing secret" }).locator(".command code").textContent()).toMatch(/^whsec_/);
    await page.getByRole("link", { name: "http://localhost:9/hooks/datasync" }).click();
    await page.getByRole("button", { name: "Send test event" }).click();
    await page.getByText("Test event queued.").waitFor();
    await expectAccessible(page, "webhook");

    await nav("Credentials");
    await page.getByLabel("Name", { exact: true }).fill("Backup user");
    await page.getByLabel("Agent that uses it").selectOption({ label: "Shop server" });
    await page.getByLabel("Username").fill("backup");
    await page.getByLabel("Secret password").fill("s3cret-never-shown");
    await page.getByRole("button", { name: "Add credential" }).click();
    await page.getByRole("cell", { name: "Backup user", exact: true }).waitFor();
    expect(await page.content()).not.toContain("s3cret-never-shown");
  });

  it("every page passes axe in light and dark themes, at 375 px and by keyboard", async () => {
    const pages = ["Overview", "Agents", "Backup jobs", "Destinations", "Credentials", "Backup files", "Logs", "Webhooks", "API keys", "Account"];
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const name of pages) {
        await nav(name);
        await page.getByRole("heading", { level: 1, name }).waitFor();
        await expect.poll(() => page.getByRole("status").filter({ hasText: "Loading" }).count(), { timeout: 10_000 }).toBe(0);
        await expectAccessible(page, `${name} (${scheme})`);
      }
    }
    // 375 px: nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 800 });
    for (const name of ["Overview", "Backup jobs", "Agents"]) {
      await nav(name);
      await page.getByRole("heading", { level: 1, name }).waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    }
    // Keyboard: the skip link comes first, then the pages are reachable with Tab and Enter.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${platform.url}/`);
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    let found = false;
    for (let i = 0; i < 20 && !found; i++) {
      await page.keyboard.press("Tab");
      found = (await page.evaluate(() => document.activeElement?.textContent)) === "API keys";
    }
    expect(found).toBe(true);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "API keys" }).waitFor();
  });
});
