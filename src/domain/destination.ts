/**
 * Where backup files go and the secrets that open them, defined once: the REST API, the D1 schema, the
 * agent protocol and the agent all use these. The field shapes are wrapped at each boundary: strictly by
 * the REST API (an unknown field is a 400) and leniently by the protocol (an unknown field is ignored, so
 * a later protocol version can add one), always with the same rules for the fields both know.
 */
import { z } from "zod";

export const DESTINATION_TYPES = ["LocalStorage", "S3Storage", "AzureBlobStorage", "SftpStorage", "GoogleCloudStorage"] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

const prefix = z.string().max(1024).optional();
const path = z.string().trim().min(1, "path is required.").max(1024);

/** The settings each destination type needs; secrets go in the referenced credential, never here. */
export const DESTINATION_SETTINGS_FIELDS = {
  LocalStorage: { path },
  S3Storage: {
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "bucket must be 3-63 lower-case letters, digits, dots or hyphens."),
    region: z.string().regex(/^[a-z0-9-]{1,64}$/, "region must be a region name such as eu-west-2."),
    prefix,
    endpoint: z
      .url({ protocol: /^https?$/, error: "endpoint must be an http(s) URL." })
      .max(1024)
      .optional()
      .meta({ description: "For S3-compatible stores (MinIO, R2 …)." }),
  },
  AzureBlobStorage: {
    container: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, "container must be 3-63 lower-case letters, digits or single hyphens."),
    prefix,
  },
  SftpStorage: {
    host: z.string().regex(/^[A-Za-z0-9.:[\]-]{1,255}$/, "host must be a host name or IP address."),
    port: z.number().int("port must be a whole number.").min(1).max(65535),
    path,
  },
  GoogleCloudStorage: {
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, "bucket must be 3-222 lower-case letters, digits, dots, underscores or hyphens."),
    prefix,
  },
} as const satisfies Record<DestinationType, z.ZodRawShape>;

/** The `$type` variants of a credential; each is sealed at rest and only ever sent to its agent. */
export const CREDENTIAL_TYPES = [
  "BasicCredential",
  "S3Credential",
  "AzureBlobCredential",
  "SftpCredential",
  "GoogleCloudCredential",
  "ConnectionStringCredential",
] as const;
export type CredentialType = (typeof CREDENTIAL_TYPES)[number];

const secret = (what: string, max = 4096) => z.string().min(1, `${what} is required.`).max(max, `${what} must be at most ${max} characters.`);

/** The secret fields of each credential variant. */
export const CREDENTIAL_FIELDS = {
  BasicCredential: { username: secret("username", 255), password: secret("password") },
  S3Credential: {
    accessKeyId: secret("accessKeyId", 255),
    secretAccessKey: secret("secretAccessKey"),
    region: z.string().regex(/^[a-z0-9-]{1,64}$/, "region must be a region name such as eu-west-2."),
  },
  AzureBlobCredential: { accountName: secret("accountName", 255), accountKey: secret("accountKey") },
  /** One of password and privateKey is needed; the REST API checks that on write. */
  SftpCredential: { username: secret("username", 255), password: secret("password").optional(), privateKey: secret("privateKey", 16_384).optional() },
  GoogleCloudCredential: { serviceAccountJson: secret("serviceAccountJson", 65_536) },
  ConnectionStringCredential: { connectionString: secret("connectionString") },
} as const satisfies Record<CredentialType, z.ZodRawShape>;
