/**
 * `npm run demo`: the README's quick start, done by itself. Starts the platform locally, registers a
 * user, enrolls an agent on a demo SQLite database, creates a destination and a job, triggers a
 * backup, lists the file and restores it, printing each step. Everything lives in a temp folder.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { promisify } from "node:util";
import { signUp, startPlatform } from "./local-platform.ts";

const CLI = resolve(import.meta.dirname, "../src/cli.ts");
const NODE = [process.execPath, "--disable-warning=ExperimentalWarning"];
const keep = process.argv.includes("--keep");
let stepNumber = 0;
const step = (text: string) => console.log(`\n${++stepNumber}. ${text}`);
const show = (text: string) => console.log(`   ${text}`);
const agentCli = (args: string[]) => promisify(execFile)(NODE[0], [...NODE.slice(1), CLI, ...args]);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((done) => setTimeout(done, 500));
  }
}

const dir = await mkdtemp(join(tmpdir(), "datasync-demo-"));
step(`Starting the platform: wrangler dev with fresh local state in ${dir}`);
const platform = await startPlatform(join(dir, "platform"));
show(`platform answering on ${platform.url}`);
const agent = { process: undefined as ReturnType<typeof spawn> | undefined };
try {
  step("Registering demo@example.com, confirming the email (operator outbox) and logging in");
  const user = await signUp(platform, "demo@example.com");
  show("POST /api/auth/register, POST /api/auth/confirm-email, POST /api/auth/login → JWT");

  step("Making a demo SQLite database with 1,000 orders");
  const databasePath = join(dir, "shop.db");
  const shop = new DatabaseSync(databasePath);
  shop.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total REAL)");
  const insert = shop.prepare("INSERT INTO orders (customer, total) VALUES (?, ?)");
  // One transaction: 1,000 autocommits (one fsync each) blocked this process ~16 s on a busy disk,
  // long enough for the platform to close the idle keep-alive socket the next request then reused.
  shop.exec("BEGIN");
  for (let i = 1; i <= 1000; i++) insert.run(`Customer ${i}`, i * 9.99);
  shop.exec("COMMIT");
  shop.close();
  show(databasePath);

  step("Creating a registration token and enrolling the agent with it");
  const { registrationToken } = await user.ok<{ registrationToken: string }>("POST", "/api/agent/registration-token", {});
  show(`POST /api/agent/registration-token → ${registrationToken.slice(0, 12)}…`);
  const stateDir = join(dir, "agent-state");
  const configPath = join(dir, "agent.json");
  await writeFile(configPath, JSON.stringify({ displayName: "Demo laptop", discovery: { enabled: false }, engines: [{ type: "Sqlite", engineKey: "demo-files", paths: [join(dir, "*.db")] }] }, null, 2));
  const enrolled = await agentCli(["enroll", "--server", platform.url, "--token", registrationToken, "--name", "Demo laptop", "--state-dir", stateDir]);
  show(`datasync-agent enroll → ${enrolled.stdout.split("\n")[0]}`);
  const agentId = /agent ([0-9a-f-]{36})/.exec(enrolled.stdout)![1];

  step("Starting the agent: it connects and reports its databases");
  agent.process = spawn(NODE[0], [...NODE.slice(1), CLI, "run", "--config", configPath, "--state-dir", stateDir], { stdio: ["ignore", "ignore", "pipe"] });
  let agentLog = "";
  agent.process.stderr!.on("data", (text) => (agentLog += text));
  const [database] = await waitFor("the agent's inventory", async () => {
    const rows = await user.ok<{ databaseId: string; name: string }[]>("GET", `/api/database?agentId=${agentId}`);
    return rows.length ? rows : undefined;
  });
  show(`GET /api/database → "${database.name}" (${database.databaseId})`);

  step("Creating a LocalStorage destination and an encrypted job for the database");
  const backups = join(dir, "backups");
  const destination = await user.ok<{ destinationId: string }>("POST", "/api/destination", { name: "Demo folder", type: "LocalStorage", agentId, settings: { path: backups } });
  const passphrase = "demo passphrase, keep it safe";
  const job = await user.ok<{ backupJobId: string }>("POST", "/api/backupjob", {
    name: "Demo nightly",
    agentId,
    databaseIds: [database.databaseId],
    destinationIds: [destination.destinationId],
    schedules: [{ backupMode: "Full", cronExpression: "0 2 * * *" }],
    retentionDays: 30,
    encryption: { enabled: true, passphrase },
  });
  show(`POST /api/destination → ${destination.destinationId}; POST /api/backupjob → ${job.backupJobId}`);

  step("Triggering a backup now and waiting for it");
  const { backupRunId } = await user.ok<{ backupRunId: string }>("POST", `/api/backupjob/${job.backupJobId}/run`, {});
  const run = await waitFor("the backup run", async () => {
    const history = await user.ok<{ backupRunId: string; status: string; durationMs: number; error: string | null }[]>("GET", `/api/backupjob/${job.backupJobId}/history`);
    const row = history.find((r) => r.backupRunId === backupRunId);
    return row && (row.status === "Success" || row.status === "Failed") ? row : undefined;
  });
  if (run.status !== "Success") throw new Error(`The backup failed: ${run.error}\n${agentLog}`);
  show(`GET /api/backupjob/{id}/history → ${run.status} in ${run.durationMs} ms`);

  step("Listing the backup file");
  const [file] = await user.ok<{ fileName: string; fileSize: number; checksum: string }[]>("GET", `/api/backupfile?backupJobId=${job.backupJobId}`);
  show(`GET /api/backupfile → ${file.fileName}, ${file.fileSize} bytes, ${file.checksum.slice(0, 23)}…`);

  step("Restoring it into a new SQLite file");
  const restoredPath = join(dir, "restored.db");
  const restored = await agentCli(["restore", "--file", join(backups, file.fileName), "--passphrase", passphrase, "--checksum", file.checksum, "--to", restoredPath]);
  show(`datasync-agent restore → ${restored.stdout.trim()}`);
  const copy = new DatabaseSync(restoredPath, { readOnly: true });
  const { n } = copy.prepare("SELECT count(*) AS n FROM orders").get() as { n: number };
  copy.close();
  show(`the restored database has ${n} orders`);
  console.log("\nDemo complete.");
} finally {
  agent.process?.kill("SIGTERM");
  await platform.stop();
  if (keep) console.log(`Kept ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}
