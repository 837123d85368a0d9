import { spawn } from "node:child_process";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

export interface Command {
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
  /** Run as this user (the agent must be root): PostgreSQL refuses to run its server as root. */
  user?: { uid: number; gid: number };
}

/** The tool's own last words on stderr, for an error a person can act on (never the password: it travels in env). */
function failure(command: Command, code: number | null, signal: NodeJS.Signals | null, stderr: string): Error {
  const lines = stderr.trim().split("\n").filter(Boolean);
  const detail = lines.slice(-3).join(" ").slice(0, 500) || (signal ? `killed by ${signal}` : `exit code ${code}`);
  return new Error(`${command.command} failed: ${detail}`);
}

export function start(command: Command, stdin: "ignore" | "pipe") {
  const child = spawn(command.command, command.args, { env: { ...process.env, ...command.env }, stdio: [stdin, "pipe", "pipe"], ...command.user });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (text: string) => {
    stderr = (stderr + text).slice(-8192);
  });
  const exit = new Promise<void>((resolve, reject) => {
    child.on("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT" ? new Error(`${command.command} is not installed or not on PATH.`) : error),
    );
    child.on("close", (code, signal) => (code === 0 ? resolve() : reject(failure(command, code, signal, stderr))));
  });
  exit.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  return { child, exit };
}

/** Runs a tool and returns its stdout as text. */
export async function runForOutput(command: Command): Promise<string> {
  const { child, exit } = start(command, "ignore");
  let out = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (text: string) => (out += text));
  await exit;
  return out;
}

/**
 * A tool's stdout as a stream that errors (instead of ending) when the tool exits non-zero, so a dump
 * that dies half-way never looks like a complete backup. The tool is killed if the reader gives up.
 */
export function streamFrom(command: Command): Readable {
  const { child, exit } = start(command, "ignore");
  // Read from the start: Node discards the unread output of a child that exits before anyone reads
  // it (say, while the consumer first runs CREATE DATABASE). The PassThrough holds it, with backpressure.
  const output = child.stdout!.pipe(new PassThrough());
  return Readable.from(
    (async function* () {
      try {
        for await (const chunk of output) yield chunk as Buffer;
        await exit;
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      }
    })(),
    { objectMode: false },
  );
}

/** Feeds a stream to a tool's stdin and waits for it to succeed. */
export async function runWithInput(command: Command, input: Readable): Promise<void> {
  const { child, exit } = start(command, "pipe");
  const fed = pipeline(input, child.stdin!).catch((error: NodeJS.ErrnoException) => {
    // EPIPE: the tool stopped reading; its exit status says why.
    if (error.code !== "EPIPE") throw error;
  });
  try {
    await Promise.all([fed, exit]);
  } catch (error) {
    child.kill("SIGTERM");
    await exit.catch(() => {});
    throw error;
  }
}

/** The first of several equivalent tools that is installed (mariadb-dump before mysqldump). */
export async function firstInstalled(candidates: string[]): Promise<string> {
  for (const candidate of candidates) {
    try {
      await runForOutput({ command: candidate, args: ["--version"] });
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(`None of ${candidates.join(", ")} is installed.`);
}
