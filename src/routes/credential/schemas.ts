import { z } from "@hono/zod-openapi";
import { CREDENTIAL_TYPES } from "../../db/schema";

const secretField = (what: string, max = 4096) => z.string().min(1, `${what} is required.`).max(max, `${what} must be at most ${max} characters.`);

/** The `$type` variants (src/domain/destination.ts); every field is secret and sealed at rest. */
export const CredentialSecretSchema = z
  .discriminatedUnion(
    "$type",
    [
      z.strictObject({ $type: z.literal("BasicCredential"), username: secretField("username", 255), password: secretField("password") }),
      z.strictObject({
        $type: z.literal("S3Credential"),
        accessKeyId: secretField("accessKeyId", 255),
        secretAccessKey: secretField("secretAccessKey"),
        region: z.string().regex(/^[a-z0-9-]{1,64}$/, "region must be a region name such as eu-west-2."),
      }),
      z.strictObject({ $type: z.literal("AzureBlobCredential"), accountName: secretField("accountName", 255), accountKey: secretField("accountKey") }),
      z
        .strictObject({
          $type: z.literal("SftpCredential"),
          username: secretField("username", 255),
          password: secretField("password").optional(),
          privateKey: secretField("privateKey", 16_384).optional(),
        })
        .refine((c) => c.password !== undefined || c.privateKey !== undefined, {
          message: "An SftpCredential needs a password or a privateKey.",
        }),
      z.strictObject({
        $type: z.literal("GoogleCloudCredential"),
        serviceAccountJson: secretField("serviceAccountJson", 65_536).refine(isJsonObject, "serviceAccountJson must be the service account key file's JSON."),
      }),
      z.strictObject({ $type: z.literal("ConnectionStringCredential"), connectionString: secretField("connectionString") }),
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
