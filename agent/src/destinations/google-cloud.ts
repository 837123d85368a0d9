import type { CredentialLookup } from "../types.ts";
import { keyPrefix, requiredSetting, type DestinationSpec } from "./destination.ts";
import { S3Destination, type S3Options } from "./s3.ts";

/** Cloud Storage's XML API, which speaks S3's protocol (multipart uploads included) to HMAC keys. */
export const GOOGLE_CLOUD_STORAGE_ENDPOINT = "https://storage.googleapis.com";

/**
 * Google Cloud Storage through its S3-compatible XML API, signed with an HMAC key (Cloud Storage →
 * Settings → Interoperability) stored as an S3Credential: `accessKeyId` is the key's access ID,
 * `secretAccessKey` its secret. Path-style URLs on storage.googleapis.com, signing region `auto`.
 */
export class GoogleCloudDestination extends S3Destination {
  /** `endpoint` is for tests against a local S3-compatible server; customers never set it. */
  constructor(spec: DestinationSpec, credentials: CredentialLookup, options: S3Options & { endpoint?: string } = {}) {
    super(spec, credentials, {
      partSize: options.partSize,
      store: { bucket: requiredSetting(spec, "bucket"), prefix: keyPrefix(spec), endpoint: options.endpoint ?? GOOGLE_CLOUD_STORAGE_ENDPOINT, region: "auto" },
      credentialHint: "an S3Credential holding a Cloud Storage HMAC key (access ID and secret)",
    });
  }
}
