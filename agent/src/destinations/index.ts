import type { CredentialLookup } from "../types.ts";
import { DestinationError, type Destination, type DestinationSpec } from "./destination.ts";
import { LocalDestination } from "./local.ts";
import { UnsupportedDestination } from "./unsupported.ts";

export function createDestination(spec: DestinationSpec, credentials: CredentialLookup): Destination {
  switch (spec.type) {
    case "LocalStorage":
      return new LocalDestination(spec);
    case "AzureBlobStorage":
    case "GoogleCloudStorage":
      return new UnsupportedDestination(spec);
    default:
      void credentials;
      throw new DestinationError(`Destination "${spec.name}": unknown type ${spec.type}.`);
  }
}
