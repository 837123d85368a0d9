import { z } from "@hono/zod-openapi";
import { DESTINATION_TYPES } from "../../db/schema";
import { DESTINATION_SETTINGS } from "../../services/destination";

/** The service's settings rules, each named as an OpenAPI component. */
const SETTINGS_SCHEMAS = {
  LocalStorage: DESTINATION_SETTINGS.LocalStorage.openapi("LocalStorageSettings"),
  S3Storage: DESTINATION_SETTINGS.S3Storage.openapi("S3StorageSettings"),
  AzureBlobStorage: DESTINATION_SETTINGS.AzureBlobStorage.openapi("AzureBlobStorageSettings"),
  SftpStorage: DESTINATION_SETTINGS.SftpStorage.openapi("SftpStorageSettings"),
  GoogleCloudStorage: DESTINATION_SETTINGS.GoogleCloudStorage.openapi("GoogleCloudStorageSettings"),
};

const name = z.string().trim().min(1, "name is required.").max(200, "name must be at most 200 characters.");
const reference = (what: string) => z.string().min(1, `${what} must not be empty.`);

const common = {
  name,
  agentId: reference("agentId").optional().openapi({ description: "The agent that writes to it, when it is local to one agent." }),
  credentialReferenceId: reference("credentialReferenceId").optional(),
};

export const CreateDestinationSchema = z
  .discriminatedUnion(
    "type",
    [
      z.object({ ...common, type: z.literal("LocalStorage"), settings: SETTINGS_SCHEMAS.LocalStorage }),
      z.object({ ...common, type: z.literal("S3Storage"), settings: SETTINGS_SCHEMAS.S3Storage }),
      z.object({ ...common, type: z.literal("AzureBlobStorage"), settings: SETTINGS_SCHEMAS.AzureBlobStorage }),
      z.object({ ...common, type: z.literal("SftpStorage"), settings: SETTINGS_SCHEMAS.SftpStorage }),
      z.object({ ...common, type: z.literal("GoogleCloudStorage"), settings: SETTINGS_SCHEMAS.GoogleCloudStorage }),
    ],
    { error: `type must be one of ${DESTINATION_TYPES.join(", ")}.` },
  )
  .openapi("CreateDestination");

/** Partial: only the fields sent change; `settings` is checked against the (new or current) type. */
export const UpdateDestinationSchema = z
  .object({
    name: name.optional(),
    type: z.enum(DESTINATION_TYPES, { error: `type must be one of ${DESTINATION_TYPES.join(", ")}.` }).optional(),
    agentId: reference("agentId").nullable().optional(),
    settings: z.record(z.string(), z.unknown()).optional(),
    credentialReferenceId: reference("credentialReferenceId").nullable().optional(),
  })
  .openapi("UpdateDestination");

export const DestinationSummarySchema = z
  .object({
    destinationId: z.string(),
    name: z.string(),
    type: z.enum(DESTINATION_TYPES),
    agentId: z.string().nullable(),
  })
  .openapi("DestinationSummary");

export const DestinationSchema = DestinationSummarySchema.extend({
  settings: z.record(z.string(), z.unknown()),
  credentialReferenceId: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).openapi("Destination");

export const DestinationIdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
