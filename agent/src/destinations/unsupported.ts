import { DestinationError, type Destination, type DestinationSpec, type Upload } from "./destination.ts";

/** Azure Blob and Google Cloud Storage: known types this agent version cannot write to yet. */
export class UnsupportedDestination implements Destination {
  readonly spec: DestinationSpec;

  constructor(spec: DestinationSpec) {
    this.spec = spec;
  }

  private error(): DestinationError {
    return new DestinationError(`Destination "${this.spec.name}": ${this.spec.type} is not supported by this agent version.`);
  }

  async open(): Promise<Upload> {
    throw this.error();
  }

  async remove(): Promise<void> {
    throw this.error();
  }

  async close(): Promise<void> {}
}
