import type { DestinationType } from "../../../src/protocol/agent-protocol.ts";
import type { KnownHosts } from "../state.ts";
import type { CredentialLookup } from "../types.ts";
import { AzureBlobDestination } from "./azure-blob.ts";
import { DestinationError, type Destination, type DestinationSpec } from "./destination.ts";
import { GoogleCloudDestination } from "./google-cloud.ts";
import { LocalDestination } from "./local.ts";
import { S3Destination } from "./s3.ts";
import { SftpDestination } from "./sftp.ts";

const FACTORIES: Record<DestinationType, (spec: DestinationSpec, credentials: CredentialLookup & KnownHosts) => Destination> = {
  LocalStorage: (spec) => new LocalDestination(spec),
  S3Storage: (spec, credentials) => new S3Destination(spec, credentials),
  AzureBlobStorage: (spec, credentials) => new AzureBlobDestination(spec, credentials),
  SftpStorage: (spec, credentials) => new SftpDestination(spec, credentials, credentials),
  GoogleCloudStorage: (spec, credentials) => new GoogleCloudDestination(spec, credentials),
};

/** The destination types this agent can write, as it tells the platform in `hello`. */
export const WRITABLE_DESTINATION_TYPES = Object.keys(FACTORIES) as DestinationType[];

export function createDestination(spec: DestinationSpec, credentials: CredentialLookup & KnownHosts): Destination {
  const factory = Object.hasOwn(FACTORIES, spec.type) ? FACTORIES[spec.type as DestinationType] : undefined;
  if (!factory) throw new DestinationError(`Destination "${spec.name}": unknown type ${spec.type}.`);
  return factory(spec, credentials);
}
