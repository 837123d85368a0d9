import { type ExtractTablesWithRelations, type RelationalSchemaConfig, createTableRelationsHelpers, extractTablesRelationalConfig } from "drizzle-orm";
import { DrizzleD1Database, SQLiteD1Session } from "drizzle-orm/d1";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import * as schema from "./schema";

/** What Drizzle runs statements on: the database itself (the primary) or a read-replication session of it. */
export type D1Client = D1Database | D1DatabaseSession;

/**
 * The schema's relational config, worked out once per isolate. `drizzle(client, { schema })` works it out
 * again on every call (0.5 ms of CPU for these tables, measured), and an authenticated request opens up
 * to three databases (its session, the gated one, the primary for an API key): profiled, that was a
 * third of its extra CPU over the health check.
 */
const tables = extractTablesRelationalConfig(schema, createTableRelationsHelpers);
type Schema = ExtractTablesWithRelations<typeof schema>;
const relational = { fullSchema: schema, schema: tables.tables as Schema, tableNamesMap: tables.tableNamesMap } satisfies RelationalSchemaConfig<Schema>;
const dialect = new SQLiteAsyncDialect();

/** What `drizzle(client, { schema })` from drizzle-orm/d1 builds, minus the per-call schema walk. */
export function createDb(client: D1Client) {
  // Drizzle's D1 driver only calls prepare() and batch(), which a session has too (its type asks for the database).
  const session = new SQLiteD1Session<typeof schema, Schema>(client as D1Database, dialect, relational, {});
  return Object.assign(new DrizzleD1Database<typeof schema>("async", dialect, session, relational), { $client: client as D1Database });
}

export type Db = ReturnType<typeof createDb>;
