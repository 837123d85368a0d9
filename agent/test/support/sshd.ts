import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";

export const SSHD = "/usr/sbin/sshd";

/** Why a local sshd cannot run here, or undefined when it can (installed by scripts/ci-services.sh). */
export function sshdUnavailableReason(): string | undefined {
  if (!existsSync(SSHD)) return "openssh-server is not installed (scripts/ci-services.sh installs it)";
  if (process.getuid?.() !== 0) return "a private sshd needs root here (privilege separation directory and user)";
  return undefined;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A throwaway sshd on a loopback port that accepts one generated key for the current user. */
export async function startSshd(dir: string): Promise<{ port: number; username: string; privateKey: string; stop(): Promise<void> }> {
  await mkdir(dir, { recursive: true });
  await mkdir("/run/sshd", { recursive: true });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client_key")]);
  await writeFile(join(dir, "authorized_keys"), await readFile(join(dir, "client_key.pub")));
  const port = await freePort();
  await writeFile(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_key")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "StrictModes no",
      "UsePAM no",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (text) => (log += text));
  const deadline = Date.now() + 10_000;
  while (!log.includes("Server listening")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sshd did not start: ${log}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    username: execFileSync("id", ["-un"], { encoding: "utf8" }).trim(),
    privateKey: await readFile(join(dir, "client_key"), "utf8"),
    async stop() {
      child.kill("SIGTERM");
      if (child.exitCode === null) await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}
