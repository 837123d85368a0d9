import { setTimeout as sleep } from "node:timers/promises";
import { start, type Command } from "../engines/process.ts";

export interface ScratchServer {
  stop(): Promise<void>;
}

/**
 * A database server the restore starts on a restored data folder, on a private socket, to replay logs
 * and dump the database from. Ready when `ready()` says so; an early exit is an error with its output.
 */
export async function startScratchServer(
  command: Command,
  ready: () => Promise<boolean>,
  // PostgreSQL: SIGINT is its fast shutdown; MariaDB shuts down on SIGTERM.
  stopSignal: NodeJS.Signals,
  timeoutMs = 120_000,
): Promise<ScratchServer> {
  const { child, exit } = start(command, "ignore");
  child.stdout!.resume();
  let exited = false;
  let exitError: unknown;
  exit.then(
    () => (exited = true),
    (error) => {
      exited = true;
      exitError = error;
    },
  );
  const stop = async () => {
    if (!exited) child.kill(stopSignal);
    const stopped = await Promise.race([exit.then(() => true, () => true), sleep(60_000).then(() => false)]);
    if (!stopped) child.kill("SIGKILL");
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw exitError instanceof Error ? exitError : new Error(`${command.command} stopped before it was ready.`);
    if (await ready().catch(() => false)) return { stop };
    await sleep(250);
  }
  await stop();
  throw new Error(`${command.command} was not ready after ${timeoutMs / 1000} s.`);
}
