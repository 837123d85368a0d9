import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { id, timestamp } from "./columns";
import { subscriberIdColumn } from "./identity";
import type { BackupMode } from "../../domain/backup";
import type { DestinationType } from "../../domain/destination";

/** One-time tokens for installing an agent (24 h), stored as SHA-256 only. */
export const agentRegistrationTokens = sqliteTable(
  "agent_registration_tokens",
  {
    id: id(),
    subscriberId: subscriberIdColumn(),
    tokenHash: text("token_hash").notNull(),
    expiresAt: timestamp("expires_at").notNull(),
    usedAt: timestamp("used_at"),
    /** The agent this token enrolled: set in the same statement that uses the token up. */
    usedByAgentId: text("used_by_agent_id"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("agent_registration_tokens_hash_unique").on(t.tokenHash),
    index("agent_registration_tokens_subscriber_idx").on(t.subscriberId),
    index("agent_registration_tokens_expires_idx").on(t.expiresAt),
  ],
);

export const agents = sqliteTable(
  "agents",
  {
    id: id(),
    subscriberId: subscriberIdColumn(),
    hostname: text("hostname").notNull(),
    displayName: text("display_name"),
    operatingSystem: text("operating_system").notNull(),
    version: text("version").notNull(),
    /** SHA-256 of the `ds_agent_…` token; deleting the agent row is what revokes it. */
    tokenHash: text("token_hash").notNull(),
    isOnline: integer("is_online", { mode: "boolean" }).notNull().default(false),
    lastSeenUtc: timestamp("last_seen_utc"),
    /** The destination types its `hello` said it can write; null until a 1.1 agent says so (a 1.0 agent: Local, S3, SFTP). */
    destinationTypes: text("destination_types", { mode: "json" }).$type<DestinationType[]>(),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("agents_token_hash_unique").on(t.tokenHash),
    index("agents_subscriber_idx").on(t.subscriberId, t.createdAt),
    // The minute's agents-online gauge and the sweep for agents offline 10 minutes read ranges of this.
    index("agents_offline_since_idx").on(t.isOnline, t.lastSeenUtc),
  ],
);

/**
 * Tokens of deleted agents (SHA-256): a connect with one is answered 401 `agent_revoked`, so an agent
 * that was offline when it was deleted still learns it must wipe its state.
 */
export const revokedAgentTokens = sqliteTable(
  "revoked_agent_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    subscriberId: subscriberIdColumn(),
    agentId: text("agent_id").notNull(),
    revokedAt: timestamp("revoked_at").notNull(),
  },
  (t) => [index("revoked_agent_tokens_subscriber_idx").on(t.subscriberId), index("revoked_agent_tokens_revoked_idx").on(t.revokedAt)],
);

/** A database engine an agent discovered, keyed per agent by the agent's own `engineKey`. */
export const engines = sqliteTable(
  "engines",
  {
    id: id(),
    subscriberId: text("subscriber_id").notNull(),
    agentId: text("agent_id")
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    engineKey: text("engine_key").notNull(),
    dbmsType: text("dbms_type").notNull(),
    version: text("version"),
    /** Why the agent's last inventory could not list this engine (it found it, but cannot log in); null when it could. */
    error: text("error"),
    /** The modes its inventory says it can back up in; an engine that reports none (protocol 1.0) is Full-only. */
    backupModes: text("backup_modes", { mode: "json" }).notNull().$type<BackupMode[]>().default(["Full"]),
    canRestore: integer("can_restore", { mode: "boolean" }).notNull().default(false),
    createdAt: timestamp("created_at").notNull(),
    updatedAt: timestamp("updated_at").notNull(),
  },
  (t) => [uniqueIndex("engines_agent_key_unique").on(t.agentId, t.engineKey), index("engines_subscriber_idx").on(t.subscriberId)],
);

export const databases = sqliteTable(
  "databases",
  {
    id: id(),
    subscriberId: text("subscriber_id").notNull(),
    agentId: text("agent_id")
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    engineId: text("engine_id")
      .notNull()
      .references(() => engines.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** Set when the last inventory no longer listed it: kept, because jobs may point at it. */
    missingSince: timestamp("missing_since"),
    createdAt: timestamp("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("databases_engine_name_unique").on(t.engineId, t.name),
    index("databases_subscriber_idx").on(t.subscriberId, t.agentId),
  ],
);
