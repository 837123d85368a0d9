import type { Db } from "./client";

/**
 * The database that holds one subscriber's rows: the only place a tenant's `ctx.db` comes from (the
 * authenticated request's context and the agent session's). Today every subscriber lives in the one D1,
 * so it is the shared database the caller already has. Past one D1 (docs/scaling.md, "Beyond one D1")
 * this looks the subscriber's shard up in the directory's routing table and returns that shard's
 * binding; services keep working through `ctx.db` unchanged, since every query is already scoped by
 * `subscriberId`.
 */
export function tenantDb(shared: Db, _subscriberId: string): Db {
  return shared;
}
