import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import type { BrowserContext, Page } from "playwright-core";
import { Secret, TOTP } from "otpauth";
import { describe, expect, it } from "vitest";
import type { LocalPlatform } from "../../agent/dev/local-platform.ts";
import { emailedLink, expectAccessible, logIn, signUpAndLogIn, useBrowserSuite } from "./support.ts";

const LOGIN_FAILED = "Email or password is incorrect, or the email address is not confirmed.";
const PASSWORD = "Correct-Horse-Battery-9";

let platform: LocalPlatform;
let context: BrowserContext;
let page: Page;
let counter = 0;
const uniqueEmail = () => `browser-${Date.now()}-${++counter}@example.com`;

useBrowserSuite("auth", (suite) => ({ platform, context, page } = suite), { freshContextPerTest: true });

describe("signing up and logging in", () => {
  it("signs up, confirms by the emailed link, logs in with an HttpOnly cookie and logs out server-side", async () => {
    const email = uniqueEmail();
    await page.goto(`${platform.url}/signup`);
    await expectAccessible(page, "sign up");
    await signUpAndLogIn(page, platform, { email, password: PASSWORD });
    await expectAccessible(page, "overview");

    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: "datasync_session", httpOnly: true, sameSite: "Strict" });
    expect(await page.evaluate(() => ({ cookie: document.cookie, stored: JSON.stringify(localStorage) }))).toEqual({ cookie: "", stored: expect.not.stringContaining(cookie.value) });

    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("heading", { name: "Log in to DataSync" }).waitFor();
    // The old cookie, replayed, no longer opens the API.
    const replay = await fetch(`${platform.url}/api/account`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
    expect(replay.status).toBe(401);
    await page.goto(`${platform.url}/agents`);
    await page.getByRole("heading", { name: "Log in to DataSync" }).waitFor();
  });

  it("says why a log-in failed: wrong password, unconfirmed email", async () => {
    const email = uniqueEmail();
    await signUpAndLogIn(page, platform, { email, password: PASSWORD });
    await context.clearCookies();

    await page.goto(`${platform.url}/login`);
    await expectAccessible(page, "log in");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe(LOGIN_FAILED);

    const unconfirmed = uniqueEmail();
    await fetch(`${platform.url}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ forename: "Bo", email: unconfirmed, password: PASSWORD }),
    });
    await page.getByLabel("Email").fill(unconfirmed);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe(LOGIN_FAILED);
    expect(await context.cookies()).toEqual([]);
    await expectAccessible(page, "log in with an error");
  });

  it("refuses a weak password on sign-up with the API's message", async () => {
    await page.goto(`${platform.url}/signup`);
    await page.getByLabel("Forename").fill("Ada");
    await page.getByLabel("Email").fill(uniqueEmail());
    await page.getByLabel("Password").fill("password123");
    await page.getByRole("button", { name: "Sign up" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/common|password/i);
  });

  it("resets a forgotten password through the emailed link", async () => {
    const email = uniqueEmail();
    await signUpAndLogIn(page, platform, { email, password: PASSWORD });
    await context.clearCookies();
    await page.goto(`${platform.url}/login`);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await expectAccessible(page, "forgot password");
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toBe("If that email exists, a reset link has been sent.");

    await page.goto(await emailedLink(platform, email, "/reset-password"));
    await expectAccessible(page, "reset password");
    await page.getByLabel("New password").fill("An-Entirely-New-Passphrase");
    await page.getByRole("button", { name: "Set new password" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toContain("Password has been reset.");
    await logIn(page, platform, { email, password: "An-Entirely-New-Passphrase" });
  });

  it("says so when a confirmation link is used twice", async () => {
    const email = uniqueEmail();
    await signUpAndLogIn(page, platform, { email, password: PASSWORD });
    await page.goto(await emailedLink(platform, email, "/confirm-email"));
    await expect.poll(() => page.getByRole("main").textContent()).toContain("Invalid or expired confirmation token.");
    await expectAccessible(page, "confirm email");
  });

  it("sends back the newest D1 bookmark it was given, so its reads follow its own writes (read replication)", async () => {
    const received: string[] = [];
    let inFlight = 0;
    page.on("request", () => inFlight++);
    page.on("requestfinished", () => inFlight--);
    page.on("requestfailed", () => inFlight--);
    page.on("response", (response) => {
      const bookmark = response.headers()["x-d1-bookmark"];
      if (bookmark) received.push(bookmark);
    });
    await signUpAndLogIn(page, platform, { email: uniqueEmail(), password: PASSWORD });
    // Let the overview's reads finish first: Playwright drops the response events of requests that a
    // navigation cuts short, so a bookmark the page kept could otherwise be missing from `received`.
    await expect.poll(() => inFlight, { timeout: 10_000 }).toBe(0);
    const newest = [...received].sort().at(-1)!;
    expect(await page.evaluate(() => sessionStorage.getItem("x-d1-bookmark"))).toBe(newest);
    // A reload keeps it for the tab: the next read carries the newest bookmark it was given.
    const [request] = await Promise.all([page.waitForRequest((r) => new URL(r.url()).pathname === "/api/account"), page.goto(`${platform.url}/account`)]);
    const sent = request.headers()["x-d1-bookmark"];
    expect(received).toContain(sent);
    expect(sent >= newest).toBe(true);
  });

  it("serves /docs with the API reference script from this service, so it renders offline", async () => {
    const requested: string[] = [];
    // Offline: anything not on this service fails.
    await page.route("**/*", (route) => {
      requested.push(route.request().url());
      return route.request().url().startsWith(platform.url) ? route.continue() : route.abort();
    });
    await page.goto(`${platform.url}/docs`);
    await page.getByText("DataSync API").first().waitFor();
    expect(requested).toContain(`${platform.url}/vendor/scalar/standalone.js`);
    expect(requested.filter((url) => url.includes("cdn.jsdelivr.net"))).toEqual([]);
  });

  it("loads at most 150 KB of JavaScript gzipped at first, from fingerprinted files cached immutable", async () => {
    const html = await (await fetch(`${platform.url}/login`)).text();
    const scripts = [...html.matchAll(/(?:src|href)="(\/app\/[^"]+\.js)"/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    let gzipped = 0;
    for (const path of scripts) {
      expect(path).toMatch(/-[A-Za-z0-9_-]{8}\.js$/);
      const response = await fetch(`${platform.url}${path}`);
      expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      gzipped += gzipSync(await readFile(resolve(import.meta.dirname, "../../dist/assets", `.${path}`))).length;
    }
    expect(gzipped).toBeLessThanOrEqual(150 * 1024);
  });
});

describe("two-factor authentication", () => {
  it("turns 2FA on from the Account page, then logging in asks for the one-time code", async () => {
    const email = uniqueEmail();
    await signUpAndLogIn(page, platform, { email, password: PASSWORD });
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account", exact: true }).click();
    await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
    const secret = ((await page.getByLabel("Secret key").textContent()) ?? "").trim();
    const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 });
    await page.getByLabel("Code from your app").fill("000000");
    await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
    await page.getByRole("alert").waitFor();
    await page.getByLabel("Code from your app").fill(totp.generate());
    await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
    await expect.poll(() => page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").count()).toBe(10);
    await expectAccessible(page, "account with recovery codes");

    // Notification preferences: one unticked, saved, still unticked after a reload.
    await page.getByLabel("Weekly summary").uncheck();
    await page.getByRole("button", { name: "Save notification preferences" }).click();
    await page.getByText("Notification preferences saved.").waitFor();
    await page.reload();
    await page.getByLabel("A backup fails").waitFor();
    expect(await page.getByLabel("Weekly summary").isChecked()).toBe(false);
    expect(await page.getByLabel("A backup fails").isChecked()).toBe(true);

    await page.getByRole("button", { name: "Log out" }).click();
    await page.goto(`${platform.url}/login`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    // The code used to turn 2FA on is refused as a replay: the next step's code is within the accepted window.
    await page.getByLabel("One-time code").fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
  });
});
