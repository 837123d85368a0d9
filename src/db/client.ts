import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

/** What Drizzle runs statements on: the database itself (the primary) or a read-replication session of it. */
export type D1Client = D1Database | D1DatabaseSession;

export function createDb(client: D1Client) {
  // Drizzle's D1 driver only calls prepare() and batch(), which a session has too (its type asks for the database).
  return drizzle(client as D1Database, { schema });
}

export type Db = ReturnType<typeof createDb>;
