import type { Browser, BrowserContext, Page } from "playwright-core";
import { Secret, TOTP } from "otpauth";
import { describe, expect, it } from "vitest";
import type { LocalPlatform } from "../../agent/dev/local-platform.ts";
import { expectAccessible, logIn, signUpAndLogIn, useBrowserSuite } from "./support.ts";

const LOGIN_FAILED = "Email or password is incorrect, or the email address is not confirmed.";
const PASSWORD = "Correct-Horse-Battery-9";
const NEW_PASSWORD = "Granite-Harbour-Lantern-7";

let platform: LocalPlatform;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let counter = 0;
const uniqueEmail = () => `account-${Date.now()}-${++counter}@example.com`;

useBrowserSuite("account", (suite) => ({ platform, browser, context, page } = suite), { freshContextPerTest: true });

/** Signs up a fresh user and opens the Account page. */
async function openAccount(email = uniqueEmail()) {
  await signUpAndLogIn(page, platform, { email, password: PASSWORD });
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Account" }).waitFor();
  return email;
}

/** Answers that verify a password (scrypt) can take seconds on a busy machine: more than expect.poll's default 1 s. */
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 15_000 });
const section = (name: string) => page.getByRole("region", { name });
const sessionCookie = async () => (await context.cookies()).find((cookie) => cookie.name === "datasync_session");

describe("the Account page", () => {
  it("passes axe in both themes, fits 375 px, and edits the forename and organisation name, which persist after a reload", async () => {
    await openAccount();
    await expectAccessible(page, "account");
    await page.emulateMedia({ colorScheme: "dark" });
    await expectAccessible(page, "account (dark)");
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    const profile = section("Profile");
    await profile.getByLabel("Forename").fill("Augusta");
    await profile.getByLabel("Organisation name").fill("Difference Engines plc");
    await profile.getByRole("button", { name: "Save profile" }).click();
    await poll(() => profile.getByRole("status").textContent()).toBe("Profile saved.");
    // The header shows the saved profile at once, without a reload.
    await poll(() => page.getByRole("banner").textContent()).toContain("Augusta · Difference Engines plc");

    await profile.getByLabel("Forename").fill(" ");
    await profile.getByRole("button", { name: "Save profile" }).click();
    await poll(() => profile.getByRole("alert").textContent()).toContain("Forename is required.");

    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Account" }).waitFor();
    expect(await section("Profile").getByLabel("Forename").inputValue()).toBe("Augusta");
    expect(await section("Profile").getByLabel("Organisation name").inputValue()).toBe("Difference Engines plc");
  });

  it("changes the password: this browser stays logged in, another is logged out, only the new password logs in", async () => {
    const email = uniqueEmail();
    const elsewhere = await browser.newContext();
    try {
      const other = await elsewhere.newPage();
      await openAccount(email);
      await logIn(other, platform, { email, password: PASSWORD });
      const before = await sessionCookie();

      // The password form is a form named by its heading, not a region.
      const password = page.getByRole("form", { name: "Password" });
      await password.getByLabel("Current password").fill("not my password");
      await password.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
      await password.getByLabel("Confirm new password").fill(NEW_PASSWORD);
      await password.getByRole("button", { name: "Change password" }).click();
      await poll(() => password.getByRole("alert").textContent()).toBe("The password is incorrect.");

      // The API's own 400 message for a weak new password; a mistyped confirmation is caught before sending.
      await password.getByLabel("Current password").fill(PASSWORD);
      await password.getByLabel("New password", { exact: true }).fill("password123");
      await password.getByLabel("Confirm new password").fill("password123");
      await password.getByRole("button", { name: "Change password" }).click();
      await poll(() => password.getByRole("alert").textContent()).toBe("Password is too common; choose one that is harder to guess.");
      await password.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
      await password.getByLabel("Confirm new password").fill(`${NEW_PASSWORD}x`);
      await password.getByRole("button", { name: "Change password" }).click();
      await poll(() => password.getByRole("alert").textContent()).toBe("The new password and its confirmation are not the same.");

      await password.getByLabel("Confirm new password").fill(NEW_PASSWORD);
      await password.getByRole("button", { name: "Change password" }).click();
      await poll(() => password.getByRole("status").textContent()).toBe("Password changed. Other sessions have been logged out.");
      expect(await password.getByLabel("Current password").inputValue()).toBe("");
      await expectAccessible(page, "account after a password change");

      // This browser: a new HttpOnly session cookie, and still logged in after a reload.
      const after = await sessionCookie();
      expect(after).toMatchObject({ name: "datasync_session", httpOnly: true, sameSite: "Strict" });
      expect(after?.value).not.toBe(before?.value);
      await page.reload();
      await page.getByRole("heading", { level: 1, name: "Account" }).waitFor();
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Agents", exact: true }).click();
      await page.getByRole("heading", { level: 1, name: "Agents" }).waitFor();

      // The other browser: logged out; the old password no longer logs in, the new one does.
      await other.reload();
      await other.getByRole("heading", { name: "Log in to DataSync" }).waitFor();
      await other.getByLabel("Email").fill(email);
      await other.getByLabel("Password").fill(PASSWORD);
      await other.getByRole("button", { name: "Log in" }).click();
      await poll(() => other.getByRole("alert").textContent()).toBe(LOGIN_FAILED);
      await logIn(other, platform, { email, password: NEW_PASSWORD });
    } finally {
      await elsewhere.close();
    }
  });

  it("with 2FA on: shows only the turn-off form, and deleting the account asks for a code and a confirmation", async () => {
    const email = await openAccount();
    await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
    const secret = ((await page.getByLabel("Secret key").textContent()) ?? "").trim();
    await page.getByLabel("Code from your app").fill(new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate());
    await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
    const codes = await recoveryCodes();
    await page.reload();
    const twoFactor = section("Two-factor authentication");
    await twoFactor.getByRole("button", { name: "Turn off two-factor authentication" }).waitFor();
    expect(await twoFactor.getByRole("button", { name: "Set up two-factor authentication" }).count()).toBe(0);

    const danger = section("Delete account");
    await danger.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await danger.getByLabel("One-time code").fill(codes[0]);
    await danger.getByRole("button", { name: "Delete account" }).click();
    await poll(() => danger.getByRole("alert").textContent()).toBe("Tick the box to confirm that the account is to be deleted.");
    await danger.getByLabel(`Yes, delete ${email} and all its data`).check();
    await danger.getByLabel("Password", { exact: true }).fill("not my password");
    await danger.getByRole("button", { name: "Delete account" }).click();
    await poll(() => danger.getByRole("alert").textContent()).toBe("The password is incorrect.");
    await expectAccessible(page, "account with a refused deletion");

    await danger.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await danger.getByRole("button", { name: "Delete account" }).click();
    await page.getByRole("heading", { name: "Log in to DataSync" }).waitFor();
    expect(await page.getByRole("status").textContent()).toBe("Account deleted. Its data is gone and you are logged out.");
    expect(await sessionCookie()).toBeUndefined();
    await expectAccessible(page, "log in after deleting the account");

    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await poll(() => page.getByRole("alert").textContent()).toBe(LOGIN_FAILED);
  });

  it("turns 2FA off with a recovery code, then offers the set-up again", async () => {
    await openAccount();
    await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
    const secret = ((await page.getByLabel("Secret key").textContent()) ?? "").trim();
    await page.getByLabel("Code from your app").fill(new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate());
    await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
    const [code] = await recoveryCodes();
    const twoFactor = section("Two-factor authentication");
    await twoFactor.getByLabel("Code to turn off").fill(code);
    await twoFactor.getByRole("button", { name: "Turn off two-factor authentication" }).click();
    await poll(() => twoFactor.getByRole("status").textContent()).toBe("Two-factor authentication is off.");
    await twoFactor.getByRole("button", { name: "Set up two-factor authentication" }).waitFor();
    expect(await twoFactor.getByRole("button", { name: "Turn off two-factor authentication" }).count()).toBe(0);
    await poll(() => section("Delete account").getByLabel("One-time code").count()).toBe(0);
  });
});

/** The recovery codes the page shows once 2FA is on. */
async function recoveryCodes(): Promise<string[]> {
  const list = page.getByRole("list", { name: "Recovery codes" });
  await poll(() => list.getByRole("listitem").count()).toBe(10);
  return list.getByRole("listitem").allTextContents();
}
