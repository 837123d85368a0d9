import { and, desc, eq } from "drizzle-orm";
import { agents, credentials, destinations } from "../db/schema";
import type { Db } from "../db/client";
import { clock } from "../lib/clock";
import { badRequest, notFound } from "../lib/errors";
import type { AuthContext } from "../lib/types";
import type { AgentCommand } from "../protocol/agent-protocol";
import type { ServiceContext } from "./activity";
import { sendAgentCommand } from "./agents";
import { sealSecret } from "./secrets";

/** Services that seal secrets or talk to agents also need the Worker's bindings. */
export interface BackupServiceContext extends ServiceContext {
  env: Env;
}

/** The context of an authenticated request (structurally typed: services stay free of Hono types). */
export function requestContext(c: { var: { db: Db; auth: AuthContext }; env: Env }): BackupServiceContext {
  return { db: c.var.db, subscriberId: c.var.auth.subscriberId, now: clock.now(), env: c.env };
}

/** What a user sends as `credential`: `$type` plus that variant's secret fields, as the agent receives it. */
export type CredentialSecret = Extract<AgentCommand, { type: "credential.upsert" }>["credential"];

export type CredentialRow = typeof credentials.$inferSelect;

/** An `agentId` given in a request body: it must be one of the caller's agents, else a 400 naming the field. */
export async function requireOwnAgent({ db, subscriberId }: ServiceContext, agentId: string) {
  const agent = await db.query.agents.findFirst({ where: and(eq(agents.id, agentId), eq(agents.subscriberId, subscriberId)) });
  if (!agent) throw badRequest("agentId: Agent not found.", [{ path: "agentId", message: "Agent not found." }]);
  return agent;
}

export function listCredentials({ db, subscriberId }: ServiceContext) {
  return db
    .select()
    .from(credentials)
    .where(eq(credentials.subscriberId, subscriberId))
    .orderBy(desc(credentials.createdAt), desc(credentials.id));
}

export async function findCredential({ db, subscriberId }: ServiceContext, credentialId: string) {
  return db.query.credentials.findFirst({ where: and(eq(credentials.id, credentialId), eq(credentials.subscriberId, subscriberId)) });
}

/**
 * Stores the whole credential sealed, then queues `credential.upsert` for its agent (delivered when it
 * next connects if it is offline). The plaintext exists only in this request and in the agent's queue.
 */
export async function createCredential(
  ctx: BackupServiceContext,
  input: { name: string; agentId: string; credential: CredentialSecret },
): Promise<CredentialRow> {
  await requireOwnAgent(ctx, input.agentId);
  const row: CredentialRow = {
    id: crypto.randomUUID(),
    subscriberId: ctx.subscriberId,
    agentId: input.agentId,
    name: input.name,
    type: input.credential.$type,
    sealedCredential: await sealSecret(ctx.env, JSON.stringify(input.credential)),
    createdAt: ctx.now,
  };
  await ctx.db.insert(credentials).values(row);
  await sendAgentCommand(ctx.env, input.agentId, {
    type: "credential.upsert",
    credentialReferenceId: row.id,
    name: row.name,
    credential: input.credential,
  });
  return row;
}

/** 404 when unknown, 400 while a destination still points at it; the agent is told to forget it. */
export async function deleteCredential(ctx: BackupServiceContext, credentialId: string): Promise<void> {
  const credential = await findCredential(ctx, credentialId);
  if (!credential) throw notFound("Credential not found.");
  const user = await ctx.db.query.destinations.findFirst({ where: eq(destinations.credentialId, credentialId) });
  if (user) throw badRequest(`Credential is used by destination "${user.name}"; remove it from the destination first.`);
  await ctx.db.delete(credentials).where(eq(credentials.id, credentialId));
  if (credential.agentId) {
    await sendAgentCommand(ctx.env, credential.agentId, { type: "credential.delete", credentialReferenceId: credentialId });
  }
}
