import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../src/cli.ts";
import { installService, SERVICE_STATE_DIR, systemdUnit, uninstallService } from "../src/service.ts";
import { installedPrefix } from "../src/update.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ds-service-"));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const unitOptions = { node: "/usr/bin/node", script: "/usr/local/bin/datasync-agent", version: "1.2.3", user: "datasync", stateDir: SERVICE_STATE_DIR, configPath: "/etc/datasync-agent/agent.json", writablePaths: [] };

describe("the systemd unit", () => {
  it("runs the agent as its own user, always restarted, sandboxed, with a 0700 state directory", () => {
    const unit = systemdUnit(unitOptions);
    expect(unit).toContain("ExecStart=/usr/bin/node --disable-warning=ExperimentalWarning /usr/local/bin/datasync-agent run --state-dir /var/lib/datasync-agent\n");
    for (const line of ["User=datasync", "Restart=always", "RestartPreventExitStatus=3 4", "NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=datasync-agent", "StateDirectoryMode=0700", "CapabilityBoundingSet="]) {
      expect(unit).toContain(`\n${line}\n`);
    }
    expect(unit).not.toContain("ReadWritePaths");
    expect(unit).not.toMatch(/\n\n\n/);
  });

  it("opens only the folders it is given for writing, quoted when they need it", () => {
    const unit = systemdUnit({ ...unitOptions, stateDir: "/srv/agent state", writablePaths: ["/backups"] });
    expect(unit).toContain('\nReadWritePaths="/srv/agent state"\nReadWritePaths=/backups\n');
    expect(unit).toContain('run --state-dir "/srv/agent state"\n');
  });

  it("is written into a given unit directory and removed from it", async () => {
    const lines: string[] = [];
    const path = await installService({ ...unitOptions, unitDir: join(dir, "units"), print: (line) => lines.push(line) });
    expect(path).toBe(join(dir, "units", "datasync-agent.service"));
    expect((await stat(path!)).mode & 0o777).toBe(0o644);
    expect(await readFile(path!, "utf8")).toContain("User=datasync\n");
    expect(await uninstallService({ unitDir: join(dir, "units"), print: (line) => lines.push(line) })).toBe(true);
    expect(await uninstallService({ unitDir: join(dir, "units"), print: (line) => lines.push(line) })).toBe(false);
    expect(lines.at(-1)).toBe(`No datasync-agent service is installed (${path} does not exist).`);
  });

  it("is not installed for a state directory nobody enrolled", async () => {
    const errors: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((text) => (errors.push(String(text)), true));
    expect(await main(["install-service", "--state-dir", join(dir, "empty"), "--unit-dir", join(dir, "units")])).toBe(1);
    expect(errors.join("")).toContain(`No enrolled agent in ${join(dir, "empty")}, which the service would use`);
  });
});

describe("update", () => {
  it("knows npm's global layout, and that a source checkout is not one", () => {
    expect(installedPrefix("/usr/local/lib/node_modules/datasync-agent/dist/datasync-agent.mjs")).toBe("/usr/local");
    expect(installedPrefix("file:///opt/tools/lib/node_modules/datasync-agent/dist/datasync-agent.mjs")).toBe("/opt/tools");
    expect(installedPrefix("/work/datasync/agent/src/update.ts")).toBeUndefined();
  });

  it("refuses to update a source checkout without --prefix", async () => {
    const errors: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((text) => (errors.push(String(text)), true));
    expect(await main(["update", "--server", "http://127.0.0.1:9"])).toBe(1);
    expect(errors.join("")).toContain("This agent runs from a source checkout, not an npm installation");
  });
});
