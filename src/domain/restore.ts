/**
 * Restore and verification words, defined once (Worker, protocol and agent import them). No imports, so
 * the agent (Node) can load it with type stripping.
 */

/** A restore's or a verification drill's life: queued by the platform, running on the agent, then an outcome. */
export const RESTORE_STATUSES = ["Queued", "Running", "Success", "Failed"] as const;
export type RestoreStatus = (typeof RESTORE_STATUSES)[number];
/** The outcomes: a restore or drill in one of these changes no more. */
export const FINISHED_RESTORE_STATUSES = ["Success", "Failed"] as const satisfies readonly RestoreStatus[];

/** The scratch database of a drill: a prefix no customer database uses, and the drill's id, so drills never clash. */
export const VERIFY_DATABASE_PREFIX = "ds_verify_";
export function verifyDatabaseName(verificationId: string): string {
  return `${VERIFY_DATABASE_PREFIX}${verificationId.replace(/-/g, "").slice(0, 12)}`;
}

/** Database names a restore may target: portable across PostgreSQL, MariaDB and SQLite file names. */
export const TARGET_DATABASE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
