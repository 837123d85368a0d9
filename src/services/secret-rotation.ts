import { type SQL, and, asc, eq, getTableColumns, gt, gte, isNotNull, lt, sql } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { agents, backupJobs, credentials, users, webhooks } from "../db/schema";
import { errorText, log } from "../lib/log";
import { agentSession } from "./agent";
import type { PublicContext } from "./context";
import { SECRET_BINDINGS, currentSealPrefix, resealUnderCurrentKey } from "./secret";

/**
 * Re-sealing after an `ENCRYPTION_KEY` rotation: every value sealed under another key (or by release 1,
 * unbound) is opened and sealed again under the current key, bound to the same row, so that
 * `ENCRYPTION_KEY_PREVIOUS` can be removed. Runs daily while `ENCRYPTION_KEY_PREVIOUS` is set: finding
 * what is left reads every row of the four tables (no index covers a sealed column, and one for a rare
 * rotation would cost every write), which once a day is cheap and every minute is not.
 */

/** Rows read per query and written per `db.batch` (3 bound parameters per update statement). */
export const RESEAL_PAGE = 100;
/** Pages per table and run: a larger backlog is finished by the next runs (or the operator's calls). */
const RESEAL_PAGES_PER_TABLE = 20;
/** Offline agents whose queues are re-sealed per run (connected agents re-seal theirs at their alarm). */
const RESEAL_AGENTS_PER_RUN = 1000;
const AGENT_CALLS_AT_ONCE = 20;

interface SealedColumn {
  table: SQLiteTable;
  id: SQLiteColumn;
  sealed: SQLiteColumn;
  /** The agent a passphrase is bound to, for the tables whose binding names one. */
  agentId?: SQLiteColumn;
  binding: (row: { id: string; agentId: string | null }) => string;
  /** Rows whose value no key opens by design, left alone and not counted. */
  exclude?: SQL;
}

/** Every D1 column `sealSecret` writes to. */
const SEALED_COLUMNS = {
  webhooks: { table: webhooks, id: webhooks.id, sealed: webhooks.sealedSecret, binding: (r) => SECRET_BINDINGS.webhookSecret(r.id) },
  credentials: { table: credentials, id: credentials.id, sealed: credentials.sealedCredential, binding: (r) => SECRET_BINDINGS.credential(r.id) },
  backupJobs: {
    table: backupJobs,
    id: backupJobs.id,
    sealed: backupJobs.sealedPassphrase,
    agentId: backupJobs.agentId,
    binding: (r) => SECRET_BINDINGS.passphrase(r.id, r.agentId),
    // An orphaned job's passphrase is bound to its deleted agent: it opens for nobody (a move needs it again).
    exclude: isNotNull(backupJobs.agentId),
  },
  users: { table: users, id: users.id, sealed: users.totpSecret, binding: (r) => SECRET_BINDINGS.totpSecret(r.id) },
} satisfies Record<string, SealedColumn>;

type SealedTable = keyof typeof SEALED_COLUMNS;
/** What the re-seal needs: no tenant (it crosses all of them), no clock. */
type RotationScope = Pick<PublicContext, "db" | "env">;
export type SealedCounts = Record<SealedTable | "total", number>;

/** The values of a column that still need the previous key (or are release-1 unbound). */
function notUnderKey(column: SealedColumn, prefix: string): SQL | undefined {
  return and(isNotNull(column.sealed), sql`substr(${column.sealed}, 1, ${prefix.length}) <> ${prefix}`, column.exclude);
}

/** How many stored values are not sealed under the current key, per table: 0 everywhere means the previous key is no longer needed in D1. */
export async function countNotUnderCurrentKey({ db, env }: RotationScope): Promise<SealedCounts> {
  const prefix = await currentSealPrefix(env);
  const names = Object.keys(SEALED_COLUMNS) as SealedTable[];
  const results = await Promise.all(
    names.map((name) => {
      const column: SealedColumn = SEALED_COLUMNS[name];
      return db.select({ n: sql<number>`count(*)` }).from(column.table).where(notUnderKey(column, prefix));
    }),
  );
  const counts = Object.fromEntries(names.map((name, i) => [name, results[i][0].n])) as SealedCounts;
  counts.total = names.reduce((sum, name) => sum + counts[name], 0);
  return counts;
}

/**
 * For the operator: which key seals now, whether a previous one is configured, and how many stored values
 * still need it. A count read from a replica can lag, but only upwards: after a rotation it only falls.
 */
export async function encryptionKeyStatus(scope: RotationScope) {
  const prefix = await currentSealPrefix(scope.env);
  return {
    currentKeyId: prefix.slice("v2.".length, -1),
    previousKeyConfigured: Boolean(scope.env.ENCRYPTION_KEY_PREVIOUS),
    notUnderCurrentKey: await countNotUnderCurrentKey(scope),
  };
}

interface ResealOutcome {
  resealed: number;
  unreadable: number;
}

/**
 * One table's re-seal: pages in id order (so within a run a value no key opens is skipped, not read again), each value
 * opened and sealed again, then written back only if the column still holds what was read: a user who
 * changed it meanwhile wins.
 */
async function resealColumn({ db, env }: RotationScope, column: SealedColumn, prefix: string): Promise<ResealOutcome> {
  const outcome = { resealed: 0, unreadable: 0 };
  // The column's property name, which Drizzle's update takes.
  const field = Object.entries(getTableColumns(column.table)).find(([, c]) => c === column.sealed)![0];
  let after = "";
  for (let page = 0; page < RESEAL_PAGES_PER_TABLE; page++) {
    const rows = await db
      .select({ id: sql<string>`${column.id}`, sealed: sql<string>`${column.sealed}`, agentId: sql<string | null>`${column.agentId ?? sql`null`}` })
      .from(column.table)
      .where(and(notUnderKey(column, prefix), gt(column.id, after)))
      .orderBy(asc(column.id))
      .limit(RESEAL_PAGE);
    const writes = [];
    for (const row of rows) {
      try {
        const fresh = await resealUnderCurrentKey(env, row.sealed, column.binding(row));
        writes.push(db.update(column.table).set({ [field]: fresh }).where(and(eq(column.id, row.id), eq(column.sealed, row.sealed))));
      } catch {
        outcome.unreadable++;
      }
    }
    if (writes.length > 0) {
      const results = await db.batch(writes as [(typeof writes)[number], ...typeof writes]);
      outcome.resealed += results.reduce((sum, r) => sum + r.meta.changes, 0);
    }
    if (rows.length < RESEAL_PAGE) break;
    after = rows[rows.length - 1].id;
  }
  return outcome;
}

/**
 * Offline agents, at most RESEAL_AGENTS_PER_RUN, from a random point of the id order round to it again: with
 * more offline agents than one run reaches, the next runs reach the others without a stored cursor.
 */
async function offlineAgentsToReach({ db }: RotationScope): Promise<{ ids: string[]; notReached: number }> {
  const start = crypto.randomUUID();
  const offline = (where: SQL) =>
    db.select({ id: agents.id }).from(agents).where(and(eq(agents.isOnline, false), where)).orderBy(asc(agents.id)).limit(RESEAL_AGENTS_PER_RUN);
  const [[{ n }], fromStart, beforeStart] = await Promise.all([
    db.select({ n: sql<number>`count(*)` }).from(agents).where(eq(agents.isOnline, false)),
    offline(gte(agents.id, start)),
    offline(lt(agents.id, start)),
  ]);
  const ids = [...fromStart, ...beforeStart].slice(0, RESEAL_AGENTS_PER_RUN).map((a) => a.id);
  return { ids, notReached: n - ids.length };
}

/** Offline agents' queued commands, re-sealed by their sessions (`AgentSession.resealQueue`), a few at a time. */
async function resealAgentQueues(scope: RotationScope): Promise<ResealOutcome & { agentsNotReached: number }> {
  const { ids, notReached } = await offlineAgentsToReach(scope);
  const outcome = { resealed: 0, unreadable: 0, agentsNotReached: notReached };
  for (let i = 0; i < ids.length; i += AGENT_CALLS_AT_ONCE) {
    const results = await Promise.allSettled(ids.slice(i, i + AGENT_CALLS_AT_ONCE).map((id) => agentSession(scope.env, id).resealQueue()));
    for (const result of results) {
      if (result.status === "fulfilled") {
        outcome.resealed += result.value.resealed;
        outcome.unreadable += result.value.unreadable;
      } else {
        log.warn("secret.reseal.agent_failed", { error: errorText(result.reason) });
        outcome.agentsNotReached++;
      }
    }
  }
  return outcome;
}

/**
 * The daily cron task: while `ENCRYPTION_KEY_PREVIOUS` is set, re-seals a bounded batch of every table
 * and of offline agents' queues, then logs what it did and what remains (counts only, never a value).
 * Without a previous key there is nothing it could open, so it does nothing.
 */
export async function resealUnderCurrentKeyBatch(scope: RotationScope): Promise<void> {
  if (!scope.env.ENCRYPTION_KEY_PREVIOUS) return;
  const prefix = await currentSealPrefix(scope.env);
  let resealed = 0;
  let unreadable = 0;
  for (const column of Object.values(SEALED_COLUMNS) as SealedColumn[]) {
    const outcome = await resealColumn(scope, column, prefix);
    resealed += outcome.resealed;
    unreadable += outcome.unreadable;
  }
  const queues = await resealAgentQueues(scope);
  const remaining = await countNotUnderCurrentKey(scope);
  log.info("secret.reseal", {
    resealed,
    unreadable,
    remaining: remaining.total,
    agentCommandsResealed: queues.resealed,
    agentCommandsUnreadable: queues.unreadable,
    agentsNotReached: queues.agentsNotReached,
  });
}
