import type { CredentialLookup } from "../types.ts";
import { destinationCredential, keyPrefix, requiredSetting, type DestinationSpec } from "./destination.ts";
import { serviceAccountFetch } from "./google-service-account.ts";
import { S3Destination, sigV4Fetch, type S3Options } from "./s3.ts";

/** Cloud Storage's XML API, which speaks S3's protocol (multipart uploads included). */
export const GOOGLE_CLOUD_STORAGE_ENDPOINT = "https://storage.googleapis.com";
/** HMAC keys sign SigV4 with this region on Cloud Storage. */
const SIGNING_REGION = "auto";

/**
 * Google Cloud Storage through its S3-compatible XML API (path-style URLs on storage.googleapis.com),
 * authenticated either by a service account (a GoogleCloudCredential holding its JSON key file: OAuth
 * 2.0 bearer tokens) or by an HMAC key (Cloud Storage → Settings → Interoperability) stored as an
 * S3Credential: `accessKeyId` is the key's access ID, `secretAccessKey` its secret.
 */
export class GoogleCloudDestination extends S3Destination {
  /** `endpoint` is for tests against a local S3-compatible server; customers never set it. */
  constructor(spec: DestinationSpec, credentials: CredentialLookup, options: S3Options & { endpoint?: string } = {}) {
    const credential = destinationCredential(
      spec,
      credentials,
      ["GoogleCloudCredential", "S3Credential"],
      "a GoogleCloudCredential (service account key) or an S3Credential holding a Cloud Storage HMAC key",
    );
    super(spec, credentials, {
      partSize: options.partSize,
      store: { bucket: requiredSetting(spec, "bucket"), prefix: keyPrefix(spec), endpoint: options.endpoint ?? GOOGLE_CLOUD_STORAGE_ENDPOINT, region: SIGNING_REGION },
      signedFetch:
        credential.$type === "GoogleCloudCredential"
          ? serviceAccountFetch(spec, credential.serviceAccountJson)
          : sigV4Fetch(credential.accessKeyId, credential.secretAccessKey, SIGNING_REGION),
    });
  }
}
