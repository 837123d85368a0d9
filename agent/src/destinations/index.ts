import type { KnownHosts } from "../state.ts";
import type { CredentialLookup } from "../types.ts";
import { DestinationError, type Destination, type DestinationSpec } from "./destination.ts";
import { LocalDestination } from "./local.ts";
import { S3Destination } from "./s3.ts";
import { SftpDestination } from "./sftp.ts";
import { UnsupportedDestination } from "./unsupported.ts";

export function createDestination(spec: DestinationSpec, credentials: CredentialLookup & KnownHosts): Destination {
  switch (spec.type) {
    case "LocalStorage":
      return new LocalDestination(spec);
    case "S3Storage":
      return new S3Destination(spec, credentials);
    case "SftpStorage":
      return new SftpDestination(spec, credentials, credentials);
    case "AzureBlobStorage":
    case "GoogleCloudStorage":
      return new UnsupportedDestination(spec);
    default:
      throw new DestinationError(`Destination "${spec.name}": unknown type ${spec.type}.`);
  }
}
