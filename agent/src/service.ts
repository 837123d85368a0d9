/**
 * The agent as a systemd service: a unit running `datasync-agent run` as a dedicated user, restarted
 * always, with the file system read-only but for its state directory (0700) and the folders given.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

export const SERVICE_NAME = "datasync-agent";
export const SERVICE_USER = "datasync";
export const SERVICE_STATE_DIR = "/var/lib/datasync-agent";
export const SERVICE_CONFIG = "/etc/datasync-agent/agent.json";
export const SYSTEM_UNIT_DIR = "/etc/systemd/system";

const run = promisify(execFile);

export interface UnitOptions {
  /** Absolute paths of node and of the datasync-agent script it runs. */
  node: string;
  script: string;
  version: string;
  user: string;
  stateDir: string;
  configPath: string;
  /** Folders the agent may write besides its state (LocalStorage destinations, SQLite staging). */
  writablePaths: string[];
}

/** Exit codes after which a restart cannot help: 3 deleted on the platform, 4 token refused. */
const FINAL_EXIT_CODES = "3 4";

export function systemdUnit(options: UnitOptions): string {
  const quote = (value: string) => (/^[\w@%+=:,./-]+$/.test(value) ? value : `"${value.replace(/(["\\])/g, "\\$1")}"`);
  const execStart = [options.node, "--disable-warning=ExperimentalWarning", options.script, "run", "--state-dir", options.stateDir].map(quote).join(" ");
  const extraWritable = [options.stateDir !== SERVICE_STATE_DIR ? options.stateDir : undefined, ...options.writablePaths].filter(Boolean) as string[];
  return `# Written by datasync-agent ${options.version} install-service; "datasync-agent uninstall-service" removes it.
[Unit]
Description=DataSync backup agent
Documentation=https://api.data-sync.co.uk/docs
Wants=network-online.target
After=network-online.target postgresql.service mariadb.service mysql.service

[Service]
Type=simple
User=${options.user}
Group=${options.user}
ExecStart=${execStart}
Environment=DATASYNC_AGENT_STATE_DIR=${quote(options.stateDir)}
Environment=DATASYNC_AGENT_CONFIG=${quote(options.configPath)}
Restart=always
RestartSec=10
RestartPreventExitStatus=${FINAL_EXIT_CODES}
# Its state (identity, token, outbox) is this user's only: /var/lib/${SERVICE_NAME}, mode 0700.
StateDirectory=${SERVICE_NAME}
StateDirectoryMode=0700
ConfigurationDirectory=${SERVICE_NAME}
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
CapabilityBoundingSet=
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
${extraWritable.map((path) => `ReadWritePaths=${quote(path)}`).join("\n")}

[Install]
WantedBy=multi-user.target
`.replace(/\n\n\n/g, "\n\n");
}

export function hasSystemd(): boolean {
  // sd_booted(3): this directory exists only when systemd is the running init.
  return existsSync("/run/systemd/system");
}

export interface InstallServiceOptions extends Omit<UnitOptions, "user"> {
  /** Tests: write the unit here and touch nothing else (no user, no systemctl). */
  unitDir?: string;
  print: (line: string) => void;
}

/** What to run where there is no systemd: the same command the unit would run. */
export function withoutSystemdAdvice(options: Pick<UnitOptions, "node" | "script" | "stateDir">): string {
  return `systemd is not running on this machine, so no service was installed. Start the agent with your init system or process supervisor (runit, s6, OpenRC, supervisord, a container's entrypoint), as a user that can read the databases:
  DATASYNC_AGENT_STATE_DIR=${options.stateDir} ${options.node} --disable-warning=ExperimentalWarning ${options.script} run`;
}

async function ensureUser(user: string, home: string): Promise<void> {
  const exists = await run("id", ["-u", user]).then(() => true, () => false);
  if (!exists) await run("useradd", ["--system", "--user-group", "--home-dir", home, "--no-create-home", "--shell", "/usr/sbin/nologin", user]);
}

async function chownTree(path: string, user: string): Promise<void> {
  const uid = Number((await run("id", ["-u", user])).stdout);
  const gid = Number((await run("id", ["-g", user])).stdout);
  const walk = async (target: string) => {
    await chown(target, uid, gid);
    if ((await stat(target)).isDirectory()) for (const name of await readdir(target)) await walk(join(target, name));
  };
  if (existsSync(path)) await walk(path);
}

/** Returns the unit file written, or undefined when there is no systemd (the advice is printed instead). */
export async function installService(options: InstallServiceOptions): Promise<string | undefined> {
  const unit = systemdUnit({ ...options, user: SERVICE_USER });
  if (options.unitDir) {
    const path = join(resolve(options.unitDir), `${SERVICE_NAME}.service`);
    await mkdir(resolve(options.unitDir), { recursive: true });
    await writeFile(path, unit, { mode: 0o644 });
    options.print(`Wrote ${path} (user ${SERVICE_USER} and systemctl left alone: the unit directory was given).`);
    return path;
  }
  if (!hasSystemd()) {
    options.print(withoutSystemdAdvice(options));
    return undefined;
  }
  if (process.getuid?.() !== 0) throw new Error("Installing the service needs root: run it with sudo.");
  await ensureUser(SERVICE_USER, SERVICE_STATE_DIR);
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  await chownTree(options.stateDir, SERVICE_USER);
  const path = join(SYSTEM_UNIT_DIR, `${SERVICE_NAME}.service`);
  await writeFile(path, unit, { mode: 0o644 });
  await run("systemctl", ["daemon-reload"]);
  await run("systemctl", ["enable", "--now", SERVICE_NAME]);
  options.print(`Installed and started ${SERVICE_NAME}.service (user ${SERVICE_USER}). Logs: journalctl -u ${SERVICE_NAME} -f`);
  return path;
}

export async function uninstallService(options: { unitDir?: string; print: (line: string) => void }): Promise<boolean> {
  const path = join(resolve(options.unitDir ?? SYSTEM_UNIT_DIR), `${SERVICE_NAME}.service`);
  const present = await readFile(path).then(() => true, () => false);
  if (!present) {
    options.print(`No ${SERVICE_NAME} service is installed (${path} does not exist).`);
    return false;
  }
  const managed = !options.unitDir && hasSystemd();
  if (managed) await run("systemctl", ["disable", "--now", SERVICE_NAME]).catch(() => {});
  await rm(path);
  if (managed) await run("systemctl", ["daemon-reload"]);
  options.print(`Removed ${path}. The agent's state (${SERVICE_STATE_DIR}) and the ${SERVICE_USER} user are kept; enrollment stays valid.`);
  return true;
}
