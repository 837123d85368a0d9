import { and, desc, eq, inArray } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { databases, engines } from "../db/schema";
import { FULL_ONLY_CAPABILITIES, type InventoryEngine } from "../protocol/agent-protocol";
import type { ServiceContext, TenantScope } from "./context";

/** D1 binds at most 100 parameters per statement: rows per multi-row insert, ids per `IN (…)`. */
const ENGINE_ROWS_PER_INSERT = 9; // 11 bound values each
const DATABASE_ROWS_PER_INSERT = 14; // 7 columns
const IDS_PER_STATEMENT = 90;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The columns an inventory sets on an engine; no capabilities (a 1.0 agent) means Full-only, no restore. */
function engineFacts(engine: InventoryEngine) {
  const capabilities = engine.capabilities ?? FULL_ONLY_CAPABILITIES;
  return {
    dbmsType: engine.dbmsType,
    version: engine.version ?? null,
    backupModes: [...new Set(capabilities.backupModes)],
    canRestore: capabilities.restore,
    error: engine.error || null,
  };
}

function engineChanged(known: typeof engines.$inferSelect, facts: ReturnType<typeof engineFacts>): boolean {
  return (
    known.dbmsType !== facts.dbmsType ||
    known.version !== facts.version ||
    known.canRestore !== facts.canRestore ||
    known.error !== facts.error ||
    known.backupModes.join() !== facts.backupModes.join()
  );
}

/**
 * Applies an `inventory` frame: engines upserted by `engineKey`, databases by engine and name. A database
 * the agent no longer lists is kept (jobs may point at it) with `missingSince` set, cleared if it returns;
 * an engine reported with an `error` keeps its databases as they were, and the error.
 * Idempotent: the same frame twice leaves the same rows.
 */
export async function applyInventory(ctx: TenantScope, agentId: string, reported: InventoryEngine[]) {
  const { db, subscriberId, now } = ctx;
  const [knownEngines, knownDatabases] = await Promise.all([
    db.select().from(engines).where(and(eq(engines.subscriberId, subscriberId), eq(engines.agentId, agentId))),
    db.select().from(databases).where(and(eq(databases.subscriberId, subscriberId), eq(databases.agentId, agentId))),
  ]);
  const engineByKey = new Map(knownEngines.map((e) => [e.engineKey, e]));
  const databaseByKey = new Map(knownDatabases.map((d) => [`${d.engineId}\n${d.name}`, d]));

  const queries: BatchItem<"sqlite">[] = [];
  const newEngines: (typeof engines.$inferInsert)[] = [];
  const newDatabases: (typeof databases.$inferInsert)[] = [];
  const listed = new Set<string>();
  const returned: string[] = [];

  // The last entry wins when an agent lists an engine key twice.
  for (const engine of new Map(reported.map((e) => [e.engineKey, e])).values()) {
    const known = engineByKey.get(engine.engineKey);
    const engineId = known?.id ?? crypto.randomUUID();
    const facts = engineFacts(engine);
    // Unreachable, its version is unknown now: the last one seen stays.
    if (facts.error && known) facts.version = known.version;
    if (!known) newEngines.push({ id: engineId, subscriberId, agentId, engineKey: engine.engineKey, ...facts, createdAt: now, updatedAt: now });
    else if (engineChanged(known, facts)) queries.push(db.update(engines).set({ ...facts, updatedAt: now }).where(eq(engines.id, known.id)));
    // An engine the agent cannot reach lists nothing: its databases are not gone, so none is marked missing.
    if (facts.error) for (const d of knownDatabases) if (d.engineId === engineId) listed.add(`${engineId}\n${d.name}`);
    for (const name of new Set(engine.databases.map((d) => d.name))) {
      const key = `${engineId}\n${name}`;
      listed.add(key);
      const database = databaseByKey.get(key);
      if (!database) newDatabases.push({ id: crypto.randomUUID(), subscriberId, agentId, engineId, name, createdAt: now });
      else if (database.missingSince) returned.push(database.id);
    }
  }
  const missing = knownDatabases.filter((d) => !d.missingSince && !listed.has(`${d.engineId}\n${d.name}`)).map((d) => d.id);

  for (const rows of chunks(newEngines, ENGINE_ROWS_PER_INSERT)) queries.push(db.insert(engines).values(rows).onConflictDoNothing());
  for (const rows of chunks(newDatabases, DATABASE_ROWS_PER_INSERT)) queries.push(db.insert(databases).values(rows).onConflictDoNothing());
  for (const ids of chunks(missing, IDS_PER_STATEMENT)) queries.push(db.update(databases).set({ missingSince: now }).where(inArray(databases.id, ids)));
  for (const ids of chunks(returned, IDS_PER_STATEMENT)) queries.push(db.update(databases).set({ missingSince: null }).where(inArray(databases.id, ids)));

  const [first, ...rest] = queries;
  if (first) await db.batch([first, ...rest]);
}

/** The subscriber's discovered databases, optionally of one agent, newest first. */
export function listDatabases({ db, subscriberId }: ServiceContext, agentId?: string) {
  return db
    .select({
      databaseId: databases.id,
      name: databases.name,
      dbmsType: engines.dbmsType,
      engineId: databases.engineId,
      agentId: databases.agentId,
      missingSince: databases.missingSince,
    })
    .from(databases)
    .innerJoin(engines, eq(engines.id, databases.engineId))
    .where(and(eq(databases.subscriberId, subscriberId), agentId ? eq(databases.agentId, agentId) : undefined))
    .orderBy(desc(databases.createdAt), databases.name);
}
