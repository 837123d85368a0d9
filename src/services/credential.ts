import { and, desc, eq } from "drizzle-orm";
import { credentials, destinations } from "../db/schema";
import { badRequest, notFound } from "../lib/errors";
import type { AgentCommand } from "../protocol/agent-protocol";
import type { ServiceContext } from "./context";
import { requireOwnAgent, sendAgentCommand } from "./agent";
import { SECRET_BINDINGS, sealSecret } from "./secret";

/** What a user sends as `credential`: `$type` plus that variant's secret fields, as the agent receives it. */
export type CredentialSecret = Extract<AgentCommand, { type: "credential.upsert" }>["credential"];

export type CredentialRow = typeof credentials.$inferSelect;

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
  ctx: ServiceContext,
  input: { name: string; agentId: string; credential: CredentialSecret },
): Promise<CredentialRow> {
  await requireOwnAgent(ctx, input.agentId);
  const credentialId = crypto.randomUUID();
  const row: CredentialRow = {
    id: credentialId,
    subscriberId: ctx.subscriberId,
    agentId: input.agentId,
    name: input.name,
    type: input.credential.$type,
    sealedCredential: await sealSecret(ctx.env, JSON.stringify(input.credential), SECRET_BINDINGS.credential(credentialId)),
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
export async function deleteCredential(ctx: ServiceContext, credentialId: string): Promise<void> {
  const credential = await findCredential(ctx, credentialId);
  if (!credential) throw notFound("Credential not found.");
  const user = await ctx.db.query.destinations.findFirst({ where: eq(destinations.credentialId, credentialId) });
  if (user) throw badRequest(`Credential is used by destination "${user.name}"; remove it from the destination first.`);
  await ctx.db.delete(credentials).where(eq(credentials.id, credentialId));
  if (credential.agentId) {
    await sendAgentCommand(ctx.env, credential.agentId, { type: "credential.delete", credentialReferenceId: credentialId });
  }
}
