import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const ROOT = resolve(import.meta.dirname, "../..");
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

async function listenable(port: number): Promise<number | undefined> {
  const server = createServer();
  const bound = await new Promise<boolean>((done) => {
    server.once("error", () => done(false));
    server.listen(port, "127.0.0.1", () => done(true));
  });
  if (!bound) return undefined;
  const chosen = (server.address() as { port: number }).port;
  await new Promise((done) => server.close(done));
  return chosen;
}

/** A free loopback port: any, or one in `range` (inclusive) when engineers share the machine by port ranges. */
export async function freePort(range?: [number, number]): Promise<number> {
  if (!range) return (await listenable(0))!;
  const [first, last] = range;
  const start = first + Math.floor(Math.random() * (last - first + 1));
  for (let i = 0; i <= last - first; i++) {
    const port = await listenable(first + ((start - first + i) % (last - first + 1)));
    if (port) return port;
  }
  throw new Error(`No free port in ${first}-${last}`);
}

export interface LocalPlatform {
  url: string;
  adminToken: string;
  stop(): Promise<void>;
  output(): string;
}

/**
 * The Worker under `wrangler dev` on a free loopback port with its own fresh state directory and
 * secrets, migrations applied first: the platform exactly as a customer's agent meets it.
 */
export async function startPlatform(stateDir: string, options: { ports?: [number, number] } = {}): Promise<LocalPlatform> {
  await mkdir(stateDir, { recursive: true });
  const adminToken = randomBytes(24).toString("base64url");
  const envFile = join(stateDir, "test.env");
  await writeFile(
    envFile,
    [`JWT_SECRET=${randomBytes(48).toString("base64url")}`, `ADMIN_TOKEN=${adminToken}`, `ENCRYPTION_KEY=${randomBytes(32).toString("base64")}`, "ALLOW_LOCAL_WEBHOOKS=true", ""].join("\n"),
  );
  const persist = join(stateDir, "wrangler-state");
  const env = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", X_LOCAL_OBSERVABILITY: "false" };
  await promisify(execFile)(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], { cwd: ROOT, env });
  const port = await freePort(options.ports);
  let inspectorPort = await freePort(options.ports);
  while (inspectorPort === port) inspectorPort = await freePort(options.ports);
  const child: ChildProcess = spawn(
    WRANGLER,
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", persist, "--env-file", envFile, "--var", `ADMIN_TOKEN:${adminToken}`, "--show-interactive-dev-session=false"],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let output = "";
  child.stdout!.on("data", (text) => (output = (output + text).slice(-20_000)));
  child.stderr!.on("data", (text) => (output = (output + text).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 150_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited: ${output}`);
    const ok = await fetch(`${url}/api/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      process.kill(-child.pid!, "SIGKILL");
      throw new Error(`wrangler dev did not answer /api/health in time: ${output}`);
    }
    await new Promise((done) => setTimeout(done, 500));
  }
  return {
    url,
    adminToken,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once("exit", done));
      process.kill(-child.pid!, "SIGTERM"); // the whole group: wrangler and its workerd
      const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A client of the platform's public API, as a user's script would be. */
export class ApiClient {
  readonly url: string;
  token: string | undefined;

  constructor(url: string, token?: string) {
    this.url = url;
    this.token = token;
  }

  async call<T = unknown>(method: string, path: string, body?: unknown, token = this.token): Promise<{ status: number; body: T; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`${this.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T, headers: response.headers };
  }

  /** Like `call`, but anything other than 200 is an error naming the request. */
  async ok<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.call<T>(method, path, body);
    if (response.status !== 200) throw new Error(`${method} ${path} → ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }
}

/** Register, confirm (the link from the operator outbox) and log in: a signed-in user of a fresh subscriber. */
export async function signUp(platform: LocalPlatform, email = `agent-e2e-${randomBytes(4).toString("hex")}@example.com`): Promise<ApiClient> {
  const client = new ApiClient(platform.url);
  const password = `Correct-Horse-${randomBytes(6).toString("hex")}`;
  await client.ok("POST", "/api/auth/register", { forename: "Ada", email, password, organisationName: "Agent E2E" });
  const outbox = await client.call<{ to: string; text: string }[]>("GET", `/api/admin/outbox?to=${encodeURIComponent(email)}`, undefined, platform.adminToken);
  if (outbox.status !== 200) throw new Error(`GET /api/admin/outbox → ${outbox.status}`);
  const mail = outbox.body.find((entry) => entry.to === email && /confirm/i.test(entry.text));
  const token = mail && /[?&]token=([^\s&]+)/.exec(mail.text)?.[1];
  if (!token) throw new Error(`No confirmation link for ${email} in the outbox`);
  await client.ok("POST", "/api/auth/confirm-email", { token: decodeURIComponent(token) });
  const login = await client.ok<{ token: string }>("POST", "/api/auth/login", { email, password });
  client.token = login.token;
  return client;
}
