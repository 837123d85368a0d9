import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { InventoryEngine } from "../../../src/protocol/agent-protocol";
import { CURRENT_AGENT_VERSION, isUpdateAvailable } from "../../../src/services/agent-release";
import { api, createSubscriber } from "../../helpers";
import { connectAgent, enroll } from "../../support/agent";

describe("GET /install.sh", () => {
  it("is a shell script, public, that installs this origin's current tarball and enrolls with this origin", async () => {
    const res = await exports.default.fetch("https://backups.example.com/install.sh");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const script = await res.text();
    expect(script.startsWith("#!/bin/sh\n")).toBe(true);
    expect(script).toContain("[ -n \"$server\" ] || server='https://backups.example.com'");
    expect(script).toContain(`package='datasync-agent-${CURRENT_AGENT_VERSION}.tgz'`);
    expect(script).toContain('"$server/downloads/$package.sha256"');
    expect(script).toContain("curl -fsSL https://backups.example.com/install.sh | sh -s -- --token ds_reg_...");
  });

  it("names the origin it was fetched from, not a configured one", async () => {
    const script = await (await exports.default.fetch("http://127.0.0.1:18787/install.sh")).text();
    expect(script).toContain("server='http://127.0.0.1:18787'");
    expect(script).not.toContain("backups.example.com");
  });
});

describe("POST /api/agent/registration-token", () => {
  it("gives the one install command for the new token, for this platform's origin", async () => {
    const { token } = await createSubscriber();
    const body = await (await api("/api/agent/registration-token", { method: "POST", token })).json<{ registrationToken: string; installCommand: string }>();
    expect(body.installCommand).toBe(`curl -fsSL http://localhost/install.sh | sh -s -- --token ${body.registrationToken}`);
  });
});

describe("updateAvailable", () => {
  it("is true for an agent older than the served release, false for the current one and for unreadable versions", async () => {
    const { token } = await createSubscriber({ plan: "Ultimate" });
    const old = await enroll(token, { hostname: "old", version: "0.0.1" });
    const current = await enroll(token, { hostname: "current", version: CURRENT_AGENT_VERSION });
    const odd = await enroll(token, { hostname: "odd", version: "nightly" });
    const list = await (await api("/api/agent", { token })).json<{ agentId: string; updateAvailable: boolean }[]>();
    const byId = new Map(list.map((agent) => [agent.agentId, agent.updateAvailable]));
    expect([byId.get(old.agentId), byId.get(current.agentId), byId.get(odd.agentId)]).toEqual([true, false, false]);
    const detail = await (await api(`/api/agent/${old.agentId}`, { token })).json<{ updateAvailable: boolean }>();
    expect(detail.updateAvailable).toBe(true);
  });

  it("follows the version the agent reports in hello", async () => {
    const { token } = await createSubscriber();
    const { agentId, agentToken } = await enroll(token, { version: "0.0.1" });
    const agent = await connectAgent(agentToken);
    const hello = { type: "hello" as const, id: crypto.randomUUID(), hostname: "h", operatingSystem: "Linux", version: CURRENT_AGENT_VERSION };
    expect(await agent.request(hello)).toEqual({ type: "ack", id: hello.id });
    expect(await (await api(`/api/agent/${agentId}`, { token })).json()).toMatchObject({ version: CURRENT_AGENT_VERSION, updateAvailable: false });
  });

  it("compares releases numerically, a pre-release before its release", () => {
    expect(isUpdateAvailable("1.9.9", "1.10.0")).toBe(true);
    expect(isUpdateAvailable("1.10.0", "1.9.9")).toBe(false);
    expect(isUpdateAvailable("2.0.0-beta.2", "2.0.0")).toBe(true);
    expect(isUpdateAvailable("2.0.0-beta.2", "2.0.0-beta.10")).toBe(true);
    expect(isUpdateAvailable("2.0.0", "2.0.0-beta.10")).toBe(false);
    expect(isUpdateAvailable("v1.0.0", "1.0.1")).toBe(true);
    expect(isUpdateAvailable("1.4.2", "1.4.2")).toBe(false);
  });
});

describe("inventory engines with an error (protocol 1.1)", () => {
  type Detail = { engines: { engineKey: string; version: string | null; error: string | null; databases: { name: string; missingSince: string | null }[] }[] };
  const frame = (engines: InventoryEngine[]) => ({ type: "inventory" as const, id: crypto.randomUUID(), engines });

  it("shows the reason on the engine and keeps its databases and version until it is reachable again", async () => {
    const { token } = await createSubscriber();
    const { agentId, agentToken } = await enroll(token);
    const agent = await connectAgent(agentToken);
    const detail = async () => (await (await api(`/api/agent/${agentId}`, { token })).json<Detail>()).engines;
    const reachable = frame([{ engineKey: "local-mariadb", dbmsType: "MariaDb", version: "10.11.6-MariaDB", databases: [{ name: "shop" }] }]);
    expect(await agent.request(reachable)).toEqual({ type: "ack", id: reachable.id });
    expect(await detail()).toMatchObject([{ engineKey: "local-mariadb", version: "10.11.6-MariaDB", error: null, databases: [{ name: "shop", missingSince: null }] }]);

    const refused = "socket /run/mysqld/mysqld.sock: mariadb failed: ERROR 1698 (28000): Access denied for user 'datasync'@'localhost'";
    const unreachable = frame([{ engineKey: "local-mariadb", dbmsType: "MariaDb", version: "", databases: [], error: refused }]);
    expect(await agent.request(unreachable)).toEqual({ type: "ack", id: unreachable.id });
    expect(await detail()).toMatchObject([{ engineKey: "local-mariadb", version: "10.11.6-MariaDB", error: refused, databases: [{ name: "shop", missingSince: null }] }]);

    const back = frame([{ engineKey: "local-mariadb", dbmsType: "MariaDb", version: "10.11.7-MariaDB", databases: [] }]);
    expect(await agent.request(back)).toEqual({ type: "ack", id: back.id });
    const [engine] = await detail();
    expect(engine).toMatchObject({ version: "10.11.7-MariaDB", error: null });
    expect(engine.databases[0].missingSince).not.toBeNull();
  });

  it("refuses an error longer than 1,000 characters", async () => {
    const { token } = await createSubscriber();
    const { agentToken } = await enroll(token);
    const agent = await connectAgent(agentToken);
    const tooLong = frame([{ engineKey: "pg", dbmsType: "PostgreSql", databases: [], error: "x".repeat(1001) }]);
    expect(await agent.request(tooLong)).toMatchObject({ type: "error", id: tooLong.id, error: expect.stringContaining("engines.0.error") });
  });
});
