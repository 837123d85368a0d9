/** Where backup files go and the secrets that open them, defined once (Worker, protocol and agent). */

export const DESTINATION_TYPES = ["LocalStorage", "S3Storage", "AzureBlobStorage", "SftpStorage", "GoogleCloudStorage"] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

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
