import { z } from "zod";
import { and, desc, eq } from "drizzle-orm";
import { type DestinationType, backupJobDestinations, backupJobs, destinations } from "../db/schema";
import { DESTINATION_SETTINGS_FIELDS } from "../domain/destination";
import { badRequest, notFound, validationFailed } from "../lib/errors";
import type { ServiceContext } from "./context";
import { assertAgentWrites, resyncJobs } from "./backup-job";
import { requireOwnAgent } from "./agent";
import { findCredential } from "./credential";
import { createWithinPlanLimit } from "./usage";

/**
 * The settings each destination type needs (src/domain/destination.ts), strict: an unknown field is a 400.
 * Domain rules: an update is checked against the stored type, so they live here; the route names them for OpenAPI.
 */
export const DESTINATION_SETTINGS = {
  LocalStorage: z.strictObject(DESTINATION_SETTINGS_FIELDS.LocalStorage),
  S3Storage: z.strictObject(DESTINATION_SETTINGS_FIELDS.S3Storage),
  AzureBlobStorage: z.strictObject(DESTINATION_SETTINGS_FIELDS.AzureBlobStorage),
  SftpStorage: z.strictObject(DESTINATION_SETTINGS_FIELDS.SftpStorage),
  GoogleCloudStorage: z.strictObject(DESTINATION_SETTINGS_FIELDS.GoogleCloudStorage),
} satisfies Record<DestinationType, z.ZodType>;

export type DestinationRow = typeof destinations.$inferSelect;

export interface DestinationChanges {
  name?: string;
  type?: DestinationType;
  agentId?: string | null;
  settings?: Record<string, unknown>;
  credentialReferenceId?: string | null;
}

export function listDestinations({ db, subscriberId }: ServiceContext) {
  return db
    .select()
    .from(destinations)
    .where(eq(destinations.subscriberId, subscriberId))
    .orderBy(desc(destinations.createdAt), desc(destinations.id));
}

export async function getDestination({ db, subscriberId }: ServiceContext, destinationId: string): Promise<DestinationRow> {
  const row = await db.query.destinations.findFirst({
    where: and(eq(destinations.id, destinationId), eq(destinations.subscriberId, subscriberId)),
  });
  if (!row) throw notFound("Destination not found.");
  return row;
}

/** Settings must match the (new or current) type; reported like any other body validation error. */
function parseSettings(type: DestinationType, settings: unknown): Record<string, unknown> {
  const result = DESTINATION_SETTINGS[type].safeParse(settings);
  if (result.success) return result.data;
  throw validationFailed(
    result.error.issues.map((issue) => ({ ...issue, path: ["settings", ...issue.path] })),
    "body",
  );
}

/**
 * Agent and credential referenced by a destination: the caller's own, and a credential stored on that
 * agent. Returns the agent the destination is usable from (its own, else its credential's), if any.
 */
async function checkReferences(ctx: ServiceContext, agentId: string | null, credentialId: string | null): Promise<string | null> {
  if (agentId) await requireOwnAgent(ctx, agentId);
  if (!credentialId) return agentId;
  const credential = await findCredential(ctx, credentialId);
  if (!credential) {
    throw badRequest("credentialReferenceId: Credential not found.", [{ path: "credentialReferenceId", message: "Credential not found." }]);
  }
  if (agentId && credential.agentId !== agentId) {
    throw badRequest("credentialReferenceId: the credential is stored on another agent than the destination's.", [
      { path: "credentialReferenceId", message: "Credential belongs to another agent." },
    ]);
  }
  return agentId ?? credential.agentId;
}

export async function createDestination(
  ctx: ServiceContext,
  input: { name: string; type: DestinationType; agentId?: string; settings: Record<string, unknown>; credentialReferenceId?: string },
): Promise<DestinationRow> {
  const agentId = input.agentId ?? null;
  const credentialId = input.credentialReferenceId ?? null;
  await checkReferences(ctx, agentId, credentialId);
  const row: DestinationRow = {
    id: crypto.randomUUID(),
    subscriberId: ctx.subscriberId,
    agentId,
    name: input.name,
    type: input.type,
    settings: parseSettings(input.type, input.settings),
    credentialId,
    createdAt: ctx.now,
    updatedAt: ctx.now,
  };
  await createWithinPlanLimit(ctx, "destinations", (subscriberId) => ctx.db.insert(destinations).values({ ...row, subscriberId }));
  return row;
}

/** The jobs that write to a destination. */
function jobsUsing({ db }: ServiceContext, destinationId: string) {
  return db
    .select({ id: backupJobs.id, name: backupJobs.name, agentId: backupJobs.agentId })
    .from(backupJobDestinations)
    .innerJoin(backupJobs, eq(backupJobs.id, backupJobDestinations.backupJobId))
    .where(eq(backupJobDestinations.destinationId, destinationId));
}

/** Partial update (a job of another agent must not lose it); the jobs that write to it are re-sent to their agents with the new settings. */
export async function updateDestination(ctx: ServiceContext, destinationId: string, changes: DestinationChanges) {
  const current = await getDestination(ctx, destinationId);
  const type = changes.type ?? current.type;
  if (changes.type && changes.type !== current.type && changes.settings === undefined) {
    throw badRequest("settings: changing the type needs the new type's settings.", [{ path: "settings", message: "Required when type changes." }]);
  }
  const settings = changes.settings === undefined ? current.settings : parseSettings(type, changes.settings);
  const agentId = changes.agentId === undefined ? current.agentId : changes.agentId;
  const credentialId = changes.credentialReferenceId === undefined ? current.credentialId : changes.credentialReferenceId;
  const usableFrom = await checkReferences(ctx, agentId, credentialId);
  const users = await jobsUsing(ctx, destinationId);
  if (type !== current.type) {
    const name = changes.name ?? current.name;
    for (const job of users) if (job.agentId) await assertAgentWrites(ctx, job.agentId, [{ name, type, path: "type" }]);
  }
  const elsewhere = usableFrom ? users.find((job) => job.agentId !== null && job.agentId !== usableFrom) : undefined;
  if (elsewhere) {
    throw badRequest(`Backup job "${elsewhere.name}" writes to this destination from another agent than its agent or credential's.`);
  }
  const updated: DestinationRow = { ...current, name: changes.name ?? current.name, type, settings, agentId, credentialId, updatedAt: ctx.now };
  await ctx.db
    .update(destinations)
    .set({ name: updated.name, type, settings, agentId, credentialId, updatedAt: ctx.now })
    .where(eq(destinations.id, destinationId));
  await resyncJobs(ctx, users.map((u) => u.id));
  return updated;
}

/** 404 when unknown; 400 while a job writes to it. */
export async function deleteDestination(ctx: ServiceContext, destinationId: string): Promise<void> {
  await getDestination(ctx, destinationId);
  const [user] = await jobsUsing(ctx, destinationId);
  if (user) throw badRequest(`Destination is used by backup job "${user.name}"; remove it from the job first.`);
  await ctx.db.delete(destinations).where(eq(destinations.id, destinationId));
}
