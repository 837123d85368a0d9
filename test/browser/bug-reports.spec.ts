import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { type LocalPlatform, signUp } from "../../agent/dev/local-platform.ts";
import { expectAccessible, signUpAndLogIn, useBrowserSuite } from "./support.ts";

const PASSWORD = "Correct-Horse-Battery-9";
const KNOWN_ISSUE = "Differential backups fail on SQL Server 2014";
/** Two cores shared by several engineers' test runs: answers may take longer than expect.poll's 1 s default. */
const POLL = { timeout: 10_000 };

let platform: LocalPlatform;
let page: Page;

useBrowserSuite("bug-reports", (suite) => ({ platform, page } = suite), { context: { viewport: { width: 1280, height: 900 } } });

const nav = (name: string) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
const yourReports = () => page.getByRole("region", { name: "Your bug reports" });
const knownIssues = () => page.getByRole("region", { name: "Known issues" });
const form = () => page.getByRole("form", { name: "Report a bug" });
/** The operator's view of every report, as the triage API sees them. */
const operator = (method: string, path: string, body?: unknown) =>
  fetch(`${platform.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${platform.adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
/** This page's user's reports, read with the page's own session cookie. */
const ownReports = () => page.evaluate(() => fetch("/api/bugreport").then((r) => r.json() as Promise<{ bugReportId: string; title: string; status: string }[]>));

describe("the Bug reports page", () => {
  it("shows the public known issues, published by the operator from another customer's report, and none of that report", async () => {
    const other = await signUp(platform);
    const { bugReportId } = await other.ok<{ bugReportId: string }>("POST", "/api/bugreport", {
      title: "Diff backups on SQL 2014 break (from another customer)",
      description: "Every differential backup on our SQL Server 2014 instance fails with a parse error.",
      category: "backup",
      severity: "high",
    });
    const triage = await operator("PUT", `/api/admin/bugreport/${bugReportId}`, { status: "in_progress", knownIssue: { title: KNOWN_ISSUE } });
    expect(triage.status).toBe(200);

    await signUpAndLogIn(page, platform, { email: `bugs-${Date.now()}@example.com`, password: PASSWORD });
    await nav("Bug reports");
    await page.getByRole("heading", { level: 1, name: "Bug reports" }).waitFor();
    const issue = knownIssues().getByRole("row", { name: new RegExp(KNOWN_ISSUE) });
    await issue.waitFor();
    expect(await issue.textContent()).toMatch(/Backups.*High.*In progress/);
    await yourReports().getByText("No bug reports yet.").waitFor();
    expect(await page.getByRole("main").textContent()).not.toContain("from another customer");
    await expectAccessible(page, "bug reports (none yet)");
  });

  it("shows the API's errors for a bad report and stores nothing", async () => {
    await form().getByLabel("Title").fill("ab");
    await form().getByLabel("Description").fill("too short");
    await form().getByRole("button", { name: "Submit bug report" }).click();

    await expect.poll(() => form().getByRole("alert").textContent(), POLL).toContain("Title must be 3 to 200 characters.");
    // Each message sits under its field, which is marked invalid and described by it.
    for (const [label, message] of [
      ["Title", "Title must be 3 to 200 characters."],
      ["Description", "Description must be 10 to 10,000 characters."],
    ]) {
      const field = form().getByLabel(label);
      expect(await field.getAttribute("aria-invalid")).toBe("true");
      const description = await field.evaluate((el) => (el.getAttribute("aria-describedby") ?? "").split(" ").map((id) => document.getElementById(id)?.textContent).join(" "));
      expect(description).toContain(message);
    }
    expect(await form().getByLabel("Category").getAttribute("aria-invalid")).toBeNull();
    await expectAccessible(page, "bug report form with errors");
    expect(await ownReports()).toEqual([]);
  });

  it("files a report, lists it as Open, and shows the status the operator sets", async () => {
    await form().getByLabel("Title").fill("Restore button greyed out");
    await form().getByLabel("Description").fill("On the Backup files page the restore button stays disabled for every file.");
    await form().getByLabel("Category").selectOption({ label: "Restores" });
    await form().getByLabel("Severity").selectOption("high");
    await form().getByRole("button", { name: "Submit bug report" }).click();

    await expect.poll(() => form().getByRole("status").textContent(), POLL).toBe("Bug report submitted. We will email you when its status changes.");
    expect(await form().getByRole("alert").count()).toBe(0);
    expect(await form().getByLabel("Title").inputValue()).toBe("");
    const row = yourReports().getByRole("row", { name: /Restore button greyed out/ });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/Restores.*High.*Open/);

    const [report] = await ownReports();
    expect((await operator("PUT", `/api/admin/bugreport/${report.bugReportId}`, { status: "in_progress" })).status).toBe(200);
    await page.reload();
    await expect.poll(() => yourReports().getByRole("row", { name: /Restore button greyed out/ }).textContent(), POLL).toContain("In progress");
    await expectAccessible(page, "bug reports with a report");
  });

  it("can be filled and submitted with the keyboard alone", async () => {
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Bug reports" }).waitFor();
    const focused = () => page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.labels?.[0]?.textContent ?? document.activeElement?.textContent);
    let onTitle = false;
    for (let i = 0; i < 40 && !onTitle; i++) {
      await page.keyboard.press("Tab");
      onTitle = (await focused()) === "Title";
    }
    expect(onTitle).toBe(true);
    await page.keyboard.type("Agent drops connection at midnight");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("Description");
    await page.keyboard.type("Every night at 00:00 UTC the agent disconnects and reconnects a minute later.");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("Category");
    await page.keyboard.type("Agent"); // a select's type-ahead
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("Severity");
    await page.keyboard.type("Low");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("Submit bug report");
    await page.keyboard.press("Enter");

    await expect.poll(() => form().getByRole("status").textContent(), POLL).toContain("Bug report submitted.");
    const row = yourReports().getByRole("row", { name: /Agent drops connection at midnight/ });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/Agent.*Low.*Open/);
  });

  it("passes axe in the dark theme and fits a 375 px screen", async () => {
    await page.emulateMedia({ colorScheme: "dark" });
    await expectAccessible(page, "bug reports (dark)");
    await page.emulateMedia({ colorScheme: "light" });

    await page.setViewportSize({ width: 375, height: 800 });
    await page.reload();
    await knownIssues().getByRole("row", { name: new RegExp(KNOWN_ISSUE) }).waitFor();
    await yourReports().getByRole("row", { name: /Restore button greyed out/ }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await expectAccessible(page, "bug reports at 375 px");
  });
});
