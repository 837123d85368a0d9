import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, createColleague, createSubscriber } from "../../helpers";
import { connectAgent, connectRequest } from "../../support/agent";
import { createAgent, createDestination, createJob } from "../../support/backup";
import { ORIGIN, emailsTo, startSession } from "../../support/auth";
import { fileReport, triage } from "../../support/bug-report";
import { T0, time } from "../../support/manual-clock";
import { totpCode, turnOnTwoFactor } from "../../support/two-factor";
import { recordEvent } from "../../support/webhook";

const deleteAccount = (token: string | undefined, json: unknown) => api("/api/account", { method: "DELETE", token, json });

/** Rows left of a subscriber and its users, in every table that names one: new tables are counted too. */
async function rowsLeft(subscriberId: string, userIds: string[]): Promise<Record<string, number>> {
  // D1 refuses PRAGMA table_info; the CREATE statements say which columns each table has.
  const tables = await env.DB.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").all<{ name: string; sql: string }>();
  const results = tables.results.flatMap(({ name, sql }) =>
    ["subscriber_id", "user_id", "created_by_user_id"].filter((column) => sql.includes(`\`${column}\``)).map((columnName) => ({ tableName: name, columnName })),
  );
  // Guards the guard: the subscriber's tables (users, keys, agents, jobs, runs, events, logs, webhooks…) are all found.
  expect(results.length).toBeGreaterThanOrEqual(20);
  const left: Record<string, number> = {};
  for (const { tableName, columnName } of results) {
    const ids = columnName === "subscriber_id" ? [subscriberId] : userIds;
    const marks = ids.map(() => "?").join(", ");
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM "${tableName}" WHERE "${columnName}" IN (${marks})`)
      .bind(...ids)
      .first<{ n: number }>();
    if (row && row.n > 0) left[`${tableName}.${columnName}`] = row.n;
  }
  const subscriber = await env.DB.prepare("SELECT count(*) AS n FROM subscribers WHERE id = ?").bind(subscriberId).first<{ n: number }>();
  if (subscriber && subscriber.n > 0) left.subscribers = subscriber.n;
  return left;
}

/** A Professional subscriber with some of everything: a connected agent, a job, a key, a webhook with a delivery, a published bug report. */
async function busySubscriber() {
  const user = await createSubscriber({ plan: "Professional" });
  const { token, subscriberId } = user;
  const colleague = await createColleague(subscriberId);
  const agent = await createAgent(subscriberId);
  const socket = await connectAgent(agent.agentToken);
  const destinationId = await createDestination(token);
  await createJob(token, { agentId: agent.agentId, databaseIds: agent.databaseIds, destinationIds: [destinationId] });
  const { key } = await (await api("/api/apikey", { json: { name: "ci" }, token })).json<{ key: string }>();
  expect((await api("/api/webhook", { token, json: { url: "https://receiver.example.com/hook", events: ["backup.failure"] } })).status).toBe(200);
  const { deliveries } = await recordEvent(subscriberId, "backup.failure", { backupJobId: "job-1" });
  expect(deliveries).toHaveLength(1);
  const bugReportId = await fileReport(token, { title: "Restores of big files stall" });
  const published = await triage(bugReportId, { status: "in_progress", knownIssue: {} });
  expect(published.status).toBe(200);
  return { ...user, colleague, agent, socket, key };
}

describe("DELETE /api/account", () => {
  it("deletes every row of the subscriber, revokes agents, keys and sessions, and emails each user", async () => {
    const account = await busySubscriber();
    const other = await createSubscriber();
    const { subscriberId, userId, colleague } = account;

    const res = await deleteAccount(account.token, { password: account.password });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Account deleted." });
    expect(res.headers.get("set-cookie")).toBeNull();

    // The connected agent is told and disconnected; its token no longer opens a socket.
    let frame = await account.socket.next();
    while (frame.type !== "command" || frame.command.type !== "agent.revoked") frame = await account.socket.next();
    expect((await account.socket.closed).code).toBe(4001);
    expect((await connectRequest(account.agent.agentToken)).status).toBe(401);
    // Sessions and keys are dead.
    expect((await api("/api/account", { token: account.token })).status).toBe(401);
    expect((await api("/api/account", { token: colleague.token })).status).toBe(401);
    expect((await api("/api/account", { token: account.key })).status).toBe(401);
    expect(await rowsLeft(subscriberId, [userId, colleague.userId])).toEqual({});
    // The public known issue stays, for everyone else; another subscriber is untouched.
    const known = await (await api("/api/bugreport/known")).json<{ title: string }[]>();
    expect(known.map((k) => k.title)).toContain("Restores of big files stall");
    expect((await api("/api/account", { token: other.token })).status).toBe(200);
    // A final email to each user.
    for (const address of [account.email, colleague.email]) {
      expect((await emailsTo(address))[0]).toMatchObject({ subject: "Your DataSync account was deleted" });
    }
  });

  it("refuses a wrong password (403 wrong_password) and a missing one (400); nothing is deleted", async () => {
    const { token, subscriberId, userId } = await createSubscriber();
    const wrong = await deleteAccount(token, { password: "not my password" });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ code: "wrong_password", error: "The password is incorrect." });
    const missing = await deleteAccount(token, {});
    expect(missing.status).toBe(400);
    expect((await missing.json<{ error: string }>()).error).toContain("password is required.");
    expect((await rowsLeft(subscriberId, [userId])).subscribers).toBe(1);
    expect((await api("/api/account", { token })).status).toBe(200);
  });

  it("with 2FA on, needs a current code or a recovery code as otp (403 invalid_otp otherwise)", async () => {
    time.freezeAt(T0);
    const { token, password, subscriberId, userId } = await createSubscriber();
    const { secret } = await turnOnTwoFactor(token);
    time.now = T0 + 30_000;
    const without = await deleteAccount(token, { password });
    expect(without.status).toBe(403);
    expect((await without.json<{ code: string }>()).code).toBe("invalid_otp");
    expect((await deleteAccount(token, { password, otp: "000000" })).status).toBe(403);
    expect((await rowsLeft(subscriberId, [userId])).subscribers).toBe(1);
    expect((await deleteAccount(token, { password, otp: totpCode(secret) })).status).toBe(200);
    expect(await rowsLeft(subscriberId, [userId])).toEqual({});
  });

  it("with the dashboard's session cookie: deletes, clears the cookie, and that session and the browser's others are dead", async () => {
    const { email, password, subscriberId, userId } = await createSubscriber();
    const { cookie } = await startSession(email, password);
    const other = await startSession(email, password);
    const refused = await api("/api/account", { method: "DELETE", json: { password: "not my password" }, headers: { cookie, origin: ORIGIN } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("set-cookie")).toBeNull();
    expect((await api("/api/account", { headers: { cookie } })).status).toBe(200);

    const res = await api("/api/account", { method: "DELETE", json: { password }, headers: { cookie, origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(/^datasync_session=;.*Max-Age=0/);
    expect((await api("/api/account", { headers: { cookie } })).status).toBe(401);
    expect((await api("/api/account", { headers: { cookie: other.cookie } })).status).toBe(401);
    expect(await rowsLeft(subscriberId, [userId])).toEqual({});
  });

  it("answers 401 without a token and 403 for an API key, deleting nothing", async () => {
    const { token, password, subscriberId, userId } = await createSubscriber({ plan: "Professional" });
    expect((await deleteAccount(undefined, { password })).status).toBe(401);
    const { key } = await (await api("/api/apikey", { json: { name: "ci" }, token })).json<{ key: string }>();
    const res = await deleteAccount(key, { password });
    expect(res.status).toBe(403);
    expect((await res.json<{ error: string }>()).error).toBe("Deleting the account needs a login session, not an API key.");
    expect((await rowsLeft(subscriberId, [userId])).subscribers).toBe(1);
  });
});
