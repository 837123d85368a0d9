import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { ApiClient, LocalPlatform } from "../../agent/dev/local-platform.ts";
import { apiClient, expectAccessible, nav, type RunningAgent, SHOP_ROWS, signUpAndLogIn, startShopAgent, useBrowserSuite } from "./support.ts";

const PASSWORD = "Correct-Horse-Battery-9";
const account = { email: `restore-${Date.now()}@example.com`, password: PASSWORD };

let dir: string;
let platform: LocalPlatform;
let page: Page;
let agent: RunningAgent | undefined;
let client: ApiClient;
let fileName: string;

useBrowserSuite("restore", (suite) => ({ dir, platform, page } = suite), {
  context: { viewport: { width: 1280, height: 900 } },
  beforeStop: () => agent?.child.kill("SIGTERM"),
});

/** `fn`'s first defined answer, asked every second (the agent works in its own time). */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`No ${what} within ${timeoutMs} ms. Agent output:\n${agent?.output()}`);
    await new Promise((done) => setTimeout(done, 1000));
  }
}

/**
 * Set-up the test is not about, through the API: a real agent backing up a SQLite database, a
 * LocalStorage destination, a job "Shop nightly" and one Full run's backup file.
 */
async function backUpShop(): Promise<void> {
  client = await apiClient(platform, account);
  // The test's own API polling must not be what runs out the Free plan's 60 requests a minute.
  const { subscriberId } = await client.ok<{ subscriberId: string }>("GET", "/api/account");
  await client.call("PUT", `/api/admin/subscriber/${subscriberId}/plan`, { plan: "Ultimate" }, platform.adminToken);
  const { registrationToken } = await client.ok<{ registrationToken: string }>("POST", "/api/agent/registration-token", {});
  agent = await startShopAgent(dir, platform, registrationToken);
  const [agentId, databaseId] = await eventually("discovered shop database", async () => {
    const [one] = await client.ok<{ agentId: string; isOnline: boolean }[]>("GET", "/api/agent");
    if (!one?.isOnline) return undefined;
    const databases = await client.ok<{ databaseId: string; name: string }[]>("GET", `/api/database?agentId=${one.agentId}`);
    const shop = databases.find((d) => d.name === "shop");
    return shop && [one.agentId, shop.databaseId];
  });
  const { destinationId } = await client.ok<{ destinationId: string }>("POST", "/api/destination", { name: "Local folder", type: "LocalStorage", settings: { path: join(dir, "backups") } });
  const { backupJobId } = await client.ok<{ backupJobId: string }>("POST", "/api/backupjob", {
    name: "Shop nightly",
    agentId,
    databaseIds: [databaseId],
    destinationIds: [destinationId],
    schedules: [],
    retentionDays: 7,
  });
  await client.ok("POST", `/api/backupjob/${backupJobId}/run`, { backupMode: "Full" });
  fileName = await eventually("backup file", async () => (await client.ok<{ fileName: string }[]>("GET", `/api/backupfile?backupJobId=${backupJobId}`))[0]?.fileName);
}

/** Opens the restore dialog of the backup file from its row on Backup files. */
async function openRestoreDialog() {
  await nav(page, "Backup files");
  await page.getByRole("button", { name: `Restore ${fileName}`, exact: true }).click();
  const dialog = page.getByRole("dialog", { name: `Restore ${fileName}` });
  await dialog.waitFor();
  return dialog;
}

const restoredFile = (name: string) => join(dir, `${name}.sqlite`);

describe("restores and verification drills from the dashboard, with a real agent", () => {
  it("restores a backup file into a new database and sees Success live, with its tables and rows", async () => {
    await signUpAndLogIn(page, platform, account);
    await backUpShop();

    const dialog = await openRestoreDialog();
    // A modal dialog: focus moved into it, and the page with it open passes axe.
    expect(await page.evaluate(() => document.activeElement?.closest("dialog") !== null)).toBe(true);
    await expectAccessible(page, "backup files with the restore dialog open");
    expect(await dialog.getByLabel("Agent").inputValue()).toBe(""); // the agent that made it
    expect(await dialog.getByLabel("Overwrite an existing database").isChecked()).toBe(false);
    await dialog.getByLabel("Target database name").fill("shop_restored");
    await dialog.getByRole("button", { name: "Start restore" }).click();
    await dialog.getByRole("status").filter({ hasText: "Restore queued." }).waitFor();
    // Its status moves on without a reload, to Success with what the agent counted.
    await dialog.getByText("Success", { exact: true }).waitFor({ timeout: 30_000 });
    expect(await dialog.locator("dl").textContent()).toContain(`Tables1Rows${SHOP_ROWS}`);

    // The database really is there, on the agent's machine.
    const restored = new DatabaseSync(restoredFile("shop_restored"), { readOnly: true });
    expect((restored.prepare("SELECT count(*) AS n FROM orders").get() as { n: number }).n).toBe(SHOP_ROWS);
    restored.close();

    // Escape closes it, and focus goes back to the row's button.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe(`Restore ${fileName}`);
    const row = page.getByRole("region", { name: "Restores" }).getByRole("row", { name: /shop_restored/ });
    await row.getByText("Success").waitFor();
    expect(await row.getByRole("cell").allTextContents()).toEqual(expect.arrayContaining(["shop_restored", fileName, "Shop server", "1", String(SHOP_ROWS)]));
  });

  it("refuses to replace an existing database unless overwrite is ticked, with a warning", async () => {
    let dialog = await openRestoreDialog();
    await dialog.getByLabel("Target database name").fill("shop_restored");
    await dialog.getByRole("button", { name: "Start restore" }).click();
    await dialog.getByText("Failed", { exact: true }).waitFor({ timeout: 30_000 });
    expect(await dialog.textContent()).toContain('Database "shop_restored" already exists; restore with overwrite: true to replace it.');
    await dialog.getByRole("button", { name: "Close" }).click();
    await page.getByRole("region", { name: "Restores" }).getByRole("row", { name: /already exists/ }).getByText("Failed").waitFor();

    dialog = await openRestoreDialog();
    await dialog.getByLabel("Target database name").fill("shop_restored");
    await dialog.getByLabel("Overwrite an existing database").check();
    await dialog.getByText("Warning: a database of that name is dropped and replaced. Its current data is lost.").waitFor();
    await dialog.getByRole("button", { name: "Start restore" }).click();
    await dialog.getByText("Success", { exact: true }).waitFor({ timeout: 30_000 });
    await dialog.getByRole("button", { name: "Close" }).click();
    expect(existsSync(restoredFile("shop_restored"))).toBe(true);
  });

  it("runs a verification drill with Verify now, and schedules drills in the job form", async () => {
    await nav(page, "Backup jobs");
    await page.getByRole("link", { name: "Shop nightly" }).click();
    const verifications = page.getByRole("region", { name: "Verifications" });
    await verifications.getByText("No verifications yet.").waitFor();
    await page.getByRole("button", { name: "Verify now" }).click();
    await page.getByRole("status").filter({ hasText: "Verification queued." }).waitFor();
    const row = verifications.getByRole("row").nth(1);
    await row.getByText("Success").waitFor({ timeout: 30_000 });
    expect(await row.getByRole("cell").allTextContents()).toEqual(expect.arrayContaining(["1", String(SHOP_ROWS)]));
    await expectAccessible(page, "backup job with a verification");
    // The scratch database is gone again.
    expect((await readdir(dir)).filter((f) => f.startsWith("ds_verify_"))).toEqual([]);

    await page.getByRole("link", { name: "Edit" }).click();
    await page.getByLabel("Verify the newest backup on a schedule").check();
    await page.getByLabel("Verification cron expression").fill("0 4 * * 0");
    await expect.poll(() => page.locator(".cron-helper li").count()).toBe(5);
    await page.getByRole("button", { name: "Save backup job" }).click();
    await page.getByRole("heading", { level: 1, name: "Shop nightly" }).waitFor();
    await page.getByText("0 4 * * 0 (UTC)").waitFor();
  });

  it("shows the API's refusal in the dialog when the agent is offline", async () => {
    agent!.child.kill("SIGTERM");
    await eventually("agent offline", async () => ((await client.ok<{ isOnline: boolean }[]>("GET", "/api/agent"))[0]?.isOnline ? undefined : true));
    const dialog = await openRestoreDialog();
    await dialog.getByLabel("Target database name").fill("shop_again");
    await dialog.getByRole("button", { name: "Start restore" }).click();
    await dialog.getByRole("alert").filter({ hasText: "Agent is offline: the restore cannot be queued until it reconnects." }).waitFor();
    // Nothing was queued.
    expect(await dialog.getByRole("status").count()).toBe(0);
    expect(await page.getByRole("region", { name: "Restores" }).getByRole("row", { name: /shop_again/ }).count()).toBe(0);
  });
});
