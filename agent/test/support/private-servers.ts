import { execFileSync } from "node:child_process";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { startScratchServer } from "../../src/chain/scratch-server.ts";
import { firstInstalled, runForOutput } from "../../src/engines/process.ts";

/**
 * Private database servers for tests that need settings the machine's own servers lack: MariaDB with
 * binary logs, PostgreSQL streaming WAL to a replication client. Each lives in a temp folder on a free
 * port of this suite's range and is stopped and deleted by `stop()`. scripts/ci-services.sh installs the
 * packages (mariadb-server, mariadb-backup, postgresql).
 */
export interface PrivateServer {
  port: number;
  /** Runs SQL as the superuser (root / postgres) and returns the tab-separated rows. */
  sql(statement: string, database?: string): string;
  stop(): Promise<void>;
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer().once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function freePort(): Promise<number> {
  const start = 18400 + Math.floor(Math.random() * 100);
  for (let i = 0; i < 100; i++) {
    const port = 18400 + ((start - 18400 + i) % 100);
    if (await isFree(port)) return port;
  }
  throw new Error("No free port in 18400-18499.");
}

export async function startPrivateMariadb(): Promise<PrivateServer> {
  const folder = await mkdtemp(join(tmpdir(), "ds-private-mariadb-"));
  const port = await freePort();
  const user = process.getuid?.() === 0 ? [`--user=${userInfo().username}`] : [];
  const data = join(folder, "data");
  await runForOutput({ command: "mariadb-install-db", args: ["--no-defaults", `--datadir=${data}`, "--auth-root-authentication-method=normal", "--skip-test-db", ...user] });
  const client = (statement: string, database?: string) => ["-h", "127.0.0.1", "-P", String(port), "--protocol=TCP", "-u", "root", "-N", "-B", "-e", statement, ...(database ? [database] : [])];
  const server = await startScratchServer(
    {
      command: await firstInstalled(["mariadbd", "/usr/sbin/mariadbd"]),
      args: ["--no-defaults", `--datadir=${data}`, `--port=${port}`, "--bind-address=127.0.0.1", `--socket=${join(folder, "sock")}`, `--log-bin=${join(data, "binlog")}`, "--server-id=1", "--innodb-buffer-pool-size=32M", `--log-error=${join(folder, "error.log")}`, ...user],
    },
    () => runForOutput({ command: "mariadb", args: client("SELECT 1") }).then(() => true),
    "SIGTERM",
  );
  return {
    port,
    sql: (statement, database) => execFileSync("mariadb", client(statement, database), { encoding: "utf8" }).trim(),
    stop: async () => {
      await server.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

export async function startPrivatePostgres(): Promise<PrivateServer> {
  const folder = await mkdtemp(join(tmpdir(), "ds-private-postgres-"));
  const port = await freePort();
  const bin = execFileSync("sh", ["-c", "ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1"], { encoding: "utf8" }).trim();
  // PostgreSQL refuses to run as root: as root, its files belong to the postgres user and it runs as that user.
  const asPostgres = process.getuid?.() === 0 ? { uid: Number(execFileSync("id", ["-u", "postgres"]).toString()), gid: Number(execFileSync("id", ["-g", "postgres"]).toString()) } : undefined;
  if (asPostgres) await chown(folder, asPostgres.uid, asPostgres.gid);
  const data = join(folder, "data");
  await runForOutput({ command: join(bin, "initdb"), args: ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"], user: asPostgres });
  await writeFile(join(data, "pg_hba.conf"), "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n");
  const settings = { port: String(port), listen_addresses: "127.0.0.1", unix_socket_directories: folder, wal_level: "replica", max_wal_senders: "5", max_replication_slots: "5", fsync: "off", shared_buffers: "32MB" };
  const psqlArgs = (statement: string, database = "postgres") => ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", database, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", statement];
  const server = await startScratchServer(
    { command: join(bin, "postgres"), args: ["-D", data, ...Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`])], user: asPostgres },
    () => runForOutput({ command: "psql", args: psqlArgs("SELECT 1") }).then(() => true),
    "SIGINT",
  );
  return {
    port,
    sql: (statement, database) => execFileSync("psql", psqlArgs(statement, database), { encoding: "utf8" }).trim(),
    stop: async () => {
      await server.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
