import { readFile } from "node:fs/promises";
import { z } from "zod";

const engineKey = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "engineKey: 1–64 letters, digits, dot, dash or underscore");

/** Inline secrets, or a credentialReferenceId whose BasicCredential / ConnectionStringCredential the platform sends. */
const serverEngine = {
  engineKey,
  host: z.string().default("127.0.0.1"),
  port: z.number().int().min(1).max(65535).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  credentialReferenceId: z.string().optional(),
  /** Only these databases are offered (default: all but system ones). */
  databases: z.array(z.string()).optional(),
};

const PostgresEngineConfig = z.object({
  type: z.literal("PostgreSql"),
  ...serverEngine,
  /** custom: pg_dump -Fc, restored with pg_restore; plain: SQL, restored with psql. */
  format: z.enum(["custom", "plain"]).default("custom"),
});

const MysqlEngineConfig = z.object({
  type: z.enum(["MySql", "MariaDb"]),
  ...serverEngine,
});

const SqliteEngineConfig = z.object({
  type: z.literal("Sqlite"),
  engineKey,
  /** Files or glob patterns (`/srv/app/*.db`); each match is one database named after its file. */
  paths: z.array(z.string()).min(1),
});

export const EngineConfig = z.discriminatedUnion("type", [PostgresEngineConfig, MysqlEngineConfig, SqliteEngineConfig]);
export type EngineConfig = z.infer<typeof EngineConfig>;
export type PostgresEngineConfig = z.infer<typeof PostgresEngineConfig>;
export type MysqlEngineConfig = z.infer<typeof MysqlEngineConfig>;
export type SqliteEngineConfig = z.infer<typeof SqliteEngineConfig>;

/** How discovery logs in to a local server: a user (peer/trust, or a password) or a platform credential. */
const DiscoveryLogin = z.object({
  username: z.string().optional(),
  password: z.string().optional(),
  credentialReferenceId: z.string().optional(),
});

/** What the agent looks for by itself on this machine; `engines` above adds to it. */
const DiscoveryConfig = z.object({
  enabled: z.boolean().default(true),
  postgres: DiscoveryLogin.prefault({}),
  mysql: DiscoveryLogin.prefault({}),
  /** Folders searched (a few levels deep) for SQLite database files. */
  sqliteDirectories: z.array(z.string()).default([]),
});
export type DiscoveryConfig = z.infer<typeof DiscoveryConfig>;

export const AgentConfig = z
  .object({
    displayName: z.string().optional(),
    engines: z.array(EngineConfig).default([]),
    discovery: DiscoveryConfig.prefault({}),
    /** zstd where this Node has it, else gzip. */
    compression: z.enum(["gzip", "zstd"]).default("gzip"),
    /** Where SQLite online backups are staged before they are streamed, in a private 0700 subfolder (default: the OS temp dir). */
    tempDirectory: z.string().optional(),
    /** How often engines are re-listed, to report new or dropped databases. */
    inventoryIntervalSeconds: z.number().int().min(10).default(300),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.engines.forEach((engine, index) => {
      if (seen.has(engine.engineKey)) ctx.addIssue({ code: "custom", path: ["engines", index, "engineKey"], message: `engineKey "${engine.engineKey}" is used twice` });
      seen.add(engine.engineKey);
    });
  });
export type AgentConfig = z.infer<typeof AgentConfig>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

export async function loadConfig(path: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new ConfigError(`Config file ${path} not found (see agent/agent.example.json).`);
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`Config file ${path} is not valid JSON.`);
  }
  const parsed = AgentConfig.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Config file ${path}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}
