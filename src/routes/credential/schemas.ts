import { z } from "@hono/zod-openapi";
import { CREDENTIAL_TYPES } from "../../db/schema";
import { CREDENTIAL_FIELDS } from "../../domain/destination";

/** The `$type` variants (src/domain/destination.ts), strict: an unknown field is a 400; every field is secret and sealed at rest. */
export const CredentialSecretSchema = z
  .discriminatedUnion(
    "$type",
    [
      z.strictObject({ $type: z.literal("BasicCredential"), ...CREDENTIAL_FIELDS.BasicCredential }),
      z.strictObject({ $type: z.literal("S3Credential"), ...CREDENTIAL_FIELDS.S3Credential }),
      z.strictObject({ $type: z.literal("AzureBlobCredential"), ...CREDENTIAL_FIELDS.AzureBlobCredential }),
      z
        .strictObject({ $type: z.literal("SftpCredential"), ...CREDENTIAL_FIELDS.SftpCredential })
        .refine((c) => c.password !== undefined || c.privateKey !== undefined, {
          message: "An SftpCredential needs a password or a privateKey.",
        }),
      z.strictObject({
        $type: z.literal("GoogleCloudCredential"),
        serviceAccountJson: CREDENTIAL_FIELDS.GoogleCloudCredential.serviceAccountJson.refine(
          isJsonObject,
          "serviceAccountJson must be the service account key file's JSON.",
        ),
      }),
      z.strictObject({ $type: z.literal("ConnectionStringCredential"), ...CREDENTIAL_FIELDS.ConnectionStringCredential }),
    ],
    { error: `credential.$type must be one of ${CREDENTIAL_TYPES.join(", ")}.` },
  )
  .openapi("CredentialSecret", { description: "Write-only: sealed with AES-256-GCM and never returned." });

function isJsonObject(value: string): boolean {
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

export const CreateCredentialSchema = z
  .object({
    name: z.string().trim().min(1, "name is required.").max(200),
    agentId: z.string().min(1, "agentId is required.").openapi({ description: "The agent that stores and uses it." }),
    credential: CredentialSecretSchema,
  })
  .openapi("CreateCredential");

export const CredentialSchema = z
  .object({
    credentialReferenceId: z.string(),
    name: z.string(),
    type: z.enum(CREDENTIAL_TYPES),
    agentId: z.string().nullable(),
  })
  .openapi("Credential");

export const CredentialIdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
