import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { freePort } from "./sshd.ts";

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** The npm `azurite` Blob service on a free loopback port, in memory (run from `workspace`); `stop` ends it. */
export async function startAzurite(workspace: string): Promise<{ connectionString: string; blobEndpoint: string; stop(): Promise<void> }> {
  const port = await freePort();
  const main = join(dirname(createRequire(import.meta.url).resolve("azurite/package.json")), "dist/src/blob/main.js");
  const args = ["--blobHost", "127.0.0.1", "--blobPort", String(port), "--inMemoryPersistence", "--extentMemoryLimit", "512", "--silent", "--disableTelemetry", "--skipApiVersionCheck"];
  const child = spawn(process.execPath, [main, ...args], { cwd: workspace, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (text) => (log += text));
  child.stderr.on("data", (text) => (log += text));
  const deadline = Date.now() + 30_000;
  while (!log.includes("successfully listens")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`azurite did not start: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
