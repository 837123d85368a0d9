import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { agentRegistrationTokens, agents, backupJobs, databases, engines, revokedAgentTokens, subscribers } from "../db/schema";
import { randomToken, sha256Hex } from "../lib/crypto";
import { ApiError, badRequest, notFound } from "../lib/errors";
import { type AgentCommand, AgentCommandSchema, type DestinationType, PROTOCOL_1_0_DESTINATION_TYPES } from "../protocol/agent-protocol";
import { eventInsert } from "./event";
import { platformLogInsert } from "./log";
import type { PublicContext, ServiceContext, TenantScope } from "./context";
import { PLAN_LIMITS, assertWithinPlanLimit } from "./plan";
import { tenantLimiter } from "./rate-limit";
import { countResource } from "./usage";

export const AGENT_TOKEN_PREFIX = "ds_agent_";
export const REGISTRATION_TOKEN_PREFIX = "ds_reg_";
export const REGISTRATION_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

export const AGENT_NOT_FOUND = "Agent not found.";

/** What the platform knows about an agent to talk to it and to describe it in events and logs. */
export interface AgentIdentity {
  agentId: string;
  subscriberId: string;
  hostname: string;
  displayName: string | null;
}

/** An `agentId` given in a request body: it must be one of the caller's agents, else a 400 naming the field. */
export async function requireOwnAgent({ db, subscriberId }: ServiceContext, agentId: string) {
  const agent = await db.query.agents.findFirst({ where: and(eq(agents.id, agentId), eq(agents.subscriberId, subscriberId)) });
  if (!agent) throw badRequest("agentId: Agent not found.", [{ path: "agentId", message: "Agent not found." }]);
  return agent;
}

/** The agent's Durable Object: its socket and its command queue. */
export function agentSession(env: Env, agentId: string) {
  return env.AGENT_SESSION.getByName(agentId);
}

/** Header through which the Worker hands the authenticated agent to its session with the upgrade. */
export const AGENT_IDENTITY_HEADER = "x-datasync-agent";

/** Hands an agent's WebSocket upgrade to its session, saying who the agent is (its token was checked here). */
export function openAgentSocket(env: Env, agent: AgentIdentity, request: Request): Promise<Response> {
  const headers = new Headers(request.headers);
  headers.delete("authorization");
  headers.set(AGENT_IDENTITY_HEADER, JSON.stringify(agent));
  return agentSession(env, agent.agentId).fetch(new Request(request.url, { headers }));
}

/**
 * The only way the platform talks to an agent: stores the command durably in the agent's queue (it is
 * stored when this resolves) and pushes it at once if the agent is connected, else on its next connect.
 */
export async function sendAgentCommand(env: Env, agentId: string, command: AgentCommand): Promise<{ id: string; seq: number }> {
  // Checked here, in the caller's isolate, so a malformed command fails where it was built.
  return agentSession(env, agentId).enqueue(AgentCommandSchema.parse(command));
}

/** A one-time token (24 h) for installing one agent; 403 when the plan's agents are all in use. */
export async function createRegistrationToken(ctx: ServiceContext) {
  const { db, subscriberId, now, plan } = ctx;
  assertWithinPlanLimit(plan, "agents", await countResource(db, subscriberId, "agents"));
  const registrationToken = randomToken(REGISTRATION_TOKEN_PREFIX);
  const expiresAt = new Date(now.getTime() + REGISTRATION_TOKEN_TTL_MS);
  await db
    .insert(agentRegistrationTokens)
    .values({ subscriberId, tokenHash: await sha256Hex(registrationToken), expiresAt, createdAt: now });
  return { registrationToken, expiresAt };
}

export interface AgentRegistration {
  registrationToken: string;
  hostname: string;
  displayName?: string | null;
  operatingSystem: string;
  version: string;
}

const INVALID_REGISTRATION_TOKEN = "Invalid, expired or already used registration token.";

/**
 * Enrolls an agent with a registration token. The token is used up in the same batch that inserts the
 * agent: the claim is a conditional UPDATE, and the agent's `subscriber_id` is read back through the
 * claim, so when two registrations race for one token the loser's insert hits NOT NULL and its whole
 * batch (agent and log entry) rolls back. The plan's agent limit is part of the claim's condition.
 */
export async function registerAgent({ db, now }: PublicContext, input: AgentRegistration) {
  const tokenHash = await sha256Hex(input.registrationToken);
  const token = await findUsableRegistrationToken(db, tokenHash, now);
  if (!token) throw new ApiError("bad_request", INVALID_REGISTRATION_TOKEN);
  const ctx = { db, subscriberId: token.subscriberId, now };
  assertWithinPlanLimit(token.plan, "agents", await countResource(db, token.subscriberId, "agents"));

  const agentId = crypto.randomUUID();
  const agentToken = randomToken(AGENT_TOKEN_PREFIX);
  const limit = PLAN_LIMITS[token.plan].agents;
  const underLimit =
    limit === null ? sql`1` : sql`(SELECT count(*) FROM ${agents} WHERE ${agents.subscriberId} = ${token.subscriberId}) < ${limit}`;
  const claimedSubscriber = sql`(SELECT ${agentRegistrationTokens.subscriberId} FROM ${agentRegistrationTokens}
    WHERE ${agentRegistrationTokens.id} = ${token.id} AND ${agentRegistrationTokens.usedByAgentId} = ${agentId})`;
  const displayName = input.displayName ?? null;
  try {
    await db.batch([
      db
        .update(agentRegistrationTokens)
        .set({ usedAt: now, usedByAgentId: agentId })
        .where(and(eq(agentRegistrationTokens.id, token.id), isNull(agentRegistrationTokens.usedAt), underLimit)),
      db.insert(agents).values({
        id: agentId,
        subscriberId: claimedSubscriber,
        hostname: input.hostname,
        displayName,
        operatingSystem: input.operatingSystem,
        version: input.version,
        tokenHash: await sha256Hex(agentToken),
        createdAt: now,
      }),
      platformLogInsert(ctx, { severity: "Information", message: `Agent ${describeAgent({ hostname: input.hostname, displayName })} enrolled.`, agentId }),
    ]);
  } catch (error) {
    // The claim lost a race: say why, as the first check would have.
    if (!(await findUsableRegistrationToken(db, tokenHash, now))) throw new ApiError("bad_request", INVALID_REGISTRATION_TOKEN);
    assertWithinPlanLimit(token.plan, "agents", await countResource(db, token.subscriberId, "agents"));
    throw error;
  }
  return { agentId, agentToken };
}

async function findUsableRegistrationToken(db: Db, tokenHash: string, now: Date) {
  const [row] = await db
    .select({ id: agentRegistrationTokens.id, subscriberId: agentRegistrationTokens.subscriberId, expiresAt: agentRegistrationTokens.expiresAt, plan: subscribers.plan })
    .from(agentRegistrationTokens)
    .innerJoin(subscribers, eq(subscribers.id, agentRegistrationTokens.subscriberId))
    .where(and(eq(agentRegistrationTokens.tokenHash, tokenHash), isNull(agentRegistrationTokens.usedAt)))
    .limit(1);
  return row && row.expiresAt.getTime() > now.getTime() ? row : null;
}

/** The agent a `ds_agent_…` token belongs to, or null (unknown, or revoked by deleting the agent). */
export async function authenticateAgentToken(db: Db, token: string): Promise<AgentIdentity | null> {
  if (!token.startsWith(AGENT_TOKEN_PREFIX)) return null;
  const [row] = await db
    .select({ agentId: agents.id, subscriberId: agents.subscriberId, hostname: agents.hostname, displayName: agents.displayName })
    .from(agents)
    .where(eq(agents.tokenHash, await sha256Hex(token)))
    .limit(1);
  return row ?? null;
}

/** Whether a token that authenticates no agent belonged to a deleted one (its connect answers `agent_revoked`). */
export async function isRevokedAgentToken(db: Db, token: string): Promise<boolean> {
  if (!token.startsWith(AGENT_TOKEN_PREFIX)) return false;
  const [row] = await db
    .select({ agentId: revokedAgentTokens.agentId })
    .from(revokedAgentTokens)
    .where(eq(revokedAgentTokens.tokenHash, await sha256Hex(token)))
    .limit(1);
  return Boolean(row);
}

/** How logs name an agent: its display name, or its hostname. */
export function describeAgent({ hostname, displayName }: { hostname: string; displayName: string | null }): string {
  return displayName ? `"${displayName}" (${hostname})` : hostname;
}

const agentColumns = {
  agentId: agents.id,
  hostname: agents.hostname,
  displayName: agents.displayName,
  version: agents.version,
  isOnline: agents.isOnline,
  lastSeenUtc: agents.lastSeenUtc,
  operatingSystem: agents.operatingSystem,
};

export function listAgents({ db, subscriberId }: ServiceContext) {
  return db.select(agentColumns).from(agents).where(eq(agents.subscriberId, subscriberId)).orderBy(asc(agents.createdAt), asc(agents.id));
}

/** One agent with its engines, each with its databases; 404 when it is not this subscriber's. */
export async function getAgentDetail({ db, subscriberId }: ServiceContext, agentId: string) {
  const { destinationTypes, ...agent } = await findAgent(db, subscriberId, agentId);
  const [engineRows, databaseRows] = await Promise.all([
    db
      .select({
        engineId: engines.id,
        engineKey: engines.engineKey,
        dbmsType: engines.dbmsType,
        version: engines.version,
        backupModes: engines.backupModes,
        canRestore: engines.canRestore,
        error: engines.error,
      })
      .from(engines)
      .where(and(eq(engines.subscriberId, subscriberId), eq(engines.agentId, agentId)))
      .orderBy(asc(engines.createdAt), asc(engines.engineKey)),
    db
      .select({ databaseId: databases.id, engineId: databases.engineId, name: databases.name, missingSince: databases.missingSince })
      .from(databases)
      .where(and(eq(databases.subscriberId, subscriberId), eq(databases.agentId, agentId)))
      .orderBy(asc(databases.name)),
  ]);
  return {
    ...agent,
    destinationTypes: writableDestinationTypes({ destinationTypes }),
    engines: engineRows.map(({ backupModes, canRestore, ...engine }) => ({
      ...engine,
      capabilities: { backupModes, restore: canRestore },
      databases: databaseRows.filter((d) => d.engineId === engine.engineId).map(({ engineId: _, ...database }) => database),
    })),
  };
}

async function findAgent(db: Db, subscriberId: string, agentId: string) {
  const [agent] = await db
    .select({ ...agentColumns, destinationTypes: agents.destinationTypes })
    .from(agents)
    .where(and(eq(agents.subscriberId, subscriberId), eq(agents.id, agentId)))
    .limit(1);
  if (!agent) throw notFound(AGENT_NOT_FOUND);
  return agent;
}

/**
 * 404 unless the agent exists and is this subscriber's: the limiter's answer when it gave one while
 * admitting the request (`ctx.namedAgent`), else D1. Either way before any Durable Object is addressed,
 * so a guessed or foreign id never creates an agent's session.
 */
export async function assertAgentExists({ db, subscriberId, namedAgent }: ServiceContext, agentId: string) {
  if (namedAgent?.agentId !== agentId) await findAgent(db, subscriberId, agentId);
  else if (!namedAgent.owned) throw notFound(AGENT_NOT_FOUND);
}

/** Asks the agent for a fresh inventory (delivered now, or when it next connects). */
export async function requestInventory(ctx: ServiceContext, agentId: string) {
  await assertAgentExists(ctx, agentId);
  await sendAgentCommand(ctx.env, agentId, { type: "inventory.request" });
}

/**
 * Deletes an agent: its row (which revokes its token), engines and databases go in one batch with the
 * log entry; its backup jobs stay, orphaned. Its token hash is kept, so a later connect (an agent that
 * was offline) answers 401 `agent_revoked` and the agent wipes its state. Then the subscriber's limiter
 * forgets it (a command to it is a 404 from the next request on), and its session tells a
 * connected agent `agent.revoked`, closes the socket with 4001, drops the queue and refuses any upgrade
 * that authenticated before the row went.
 */
export async function deleteAgent(ctx: ServiceContext, agentId: string) {
  const { db, subscriberId } = ctx;
  const agent = await findAgent(db, subscriberId, agentId);
  const owned = and(eq(agents.subscriberId, subscriberId), eq(agents.id, agentId));
  await db.batch([
    // Its jobs stay for their history, orphaned: no agent, disabled.
    db
      .update(backupJobs)
      .set({ agentId: null, isEnabled: false, nextDueAt: null, updatedAt: ctx.now })
      .where(and(eq(backupJobs.subscriberId, subscriberId), eq(backupJobs.agentId, agentId))),
    db.delete(databases).where(and(eq(databases.subscriberId, subscriberId), eq(databases.agentId, agentId))),
    db.delete(engines).where(and(eq(engines.subscriberId, subscriberId), eq(engines.agentId, agentId))),
    db
      .insert(revokedAgentTokens)
      .select(db.select({ tokenHash: agents.tokenHash, subscriberId: agents.subscriberId, agentId: agents.id, revokedAt: sql<Date>`${ctx.now.getTime()}`.as("revoked_at") }).from(agents).where(owned))
      .onConflictDoNothing(),
    db.delete(agents).where(owned),
    platformLogInsert(ctx, { severity: "Warning", message: `Agent ${describeAgent(agent)} deleted; its token is revoked.`, agentId }),
  ]);
  // The limiter answers "is it the caller's?" for commands: from the next request on, it is not.
  await Promise.all([tenantLimiter(ctx.env, subscriberId).forgetAgent(agentId), agentSession(ctx.env, agentId).revoke()]);
}

/**
 * `isOnline`/`lastSeenUtc` follow the socket; each change records its event and log entry in the same batch.
 * Returns the event id, for `publishEvents` once the batch has committed.
 */
export async function recordPresence(ctx: TenantScope, agent: AgentIdentity, online: boolean): Promise<string> {
  const { db, now } = ctx;
  const event = eventInsert(ctx, online ? "agent.connected" : "agent.disconnected", {
    agentId: agent.agentId,
    hostname: agent.hostname,
    displayName: agent.displayName,
  });
  await db.batch([
    db
      .update(agents)
      .set({ isOnline: online, lastSeenUtc: now })
      .where(and(eq(agents.subscriberId, agent.subscriberId), eq(agents.id, agent.agentId))),
    ...event.queries,
    platformLogInsert(ctx, {
      severity: online ? "Information" : "Warning",
      message: `Agent ${describeAgent(agent)} ${online ? "connected" : "disconnected"}.`,
      agentId: agent.agentId,
    }),
  ]);
  return event.id;
}

/** Keeps `lastSeenUtc` of a connected agent close to the truth without a write per frame. */
export async function touchAgent({ db, subscriberId, now }: TenantScope, agentId: string) {
  await db
    .update(agents)
    .set({ lastSeenUtc: now })
    .where(and(eq(agents.subscriberId, subscriberId), eq(agents.id, agentId)));
}

/** The destination types an agent can write: what its hello listed, or a 1.0 agent's. */
export function writableDestinationTypes(agent: { destinationTypes: DestinationType[] | null }): readonly DestinationType[] {
  return agent.destinationTypes ?? PROTOCOL_1_0_DESTINATION_TYPES;
}

/** The host facts of a `hello` frame. */
export async function updateAgentFacts(
  { db, subscriberId }: TenantScope,
  agentId: string,
  facts: { hostname: string; displayName?: string | null; operatingSystem: string; version: string; destinationTypes?: DestinationType[] },
) {
  await db
    .update(agents)
    .set({
      hostname: facts.hostname,
      operatingSystem: facts.operatingSystem,
      version: facts.version,
      // Every hello says it again: an agent downgraded to 1.0 goes back to the 1.0 types.
      destinationTypes: facts.destinationTypes ? [...new Set(facts.destinationTypes)] : null,
      ...(facts.displayName !== undefined ? { displayName: facts.displayName } : {}),
    })
    .where(and(eq(agents.subscriberId, subscriberId), eq(agents.id, agentId)));
}
