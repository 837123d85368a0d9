import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { BlobServiceClient, RestError, StorageSharedKeyCredential, type ContainerClient } from "@azure/storage-blob";
import { checksumFileContent, type FileDigest } from "../pipeline/checksum.ts";
import type { CredentialLookup } from "../types.ts";
import { CHECKSUM_SUFFIX, DestinationError, destinationCredential, keyPrefix, requiredSetting, streamInPieces, type Destination, type DestinationSpec, type Upload } from "./destination.ts";

/** Block size: memory per upload and 50,000 blocks per blob (8 MiB → 390 GiB). */
export const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024;

/** Never replace an existing blob: a backup file, once written, is not overwritten by another run. */
const IF_NEW = { conditions: { ifNoneMatch: "*" } };

function serviceClient(spec: DestinationSpec, credentials: CredentialLookup): BlobServiceClient {
  const credential = destinationCredential(spec, credentials, ["AzureBlobCredential", "ConnectionStringCredential"], "an AzureBlobCredential or a ConnectionStringCredential");
  const retryOptions = { maxTries: 3 };
  if (credential.$type === "ConnectionStringCredential") {
    try {
      return BlobServiceClient.fromConnectionString(credential.connectionString, { retryOptions });
    } catch (error) {
      throw new DestinationError(`Destination "${spec.name}": the connection string is not a valid Azure Storage connection string (${(error as Error).message}).`);
    }
  }
  const sharedKey = new StorageSharedKeyCredential(credential.accountName, credential.accountKey);
  return new BlobServiceClient(`https://${encodeURIComponent(credential.accountName)}.blob.core.windows.net`, sharedKey, { retryOptions });
}

/**
 * Azure Blob Storage (@azure/storage-blob): block blobs streamed block by block with `stageBlock`;
 * the blob exists only once `commit` commits the block list (uncommitted blocks of a failed run are
 * discarded by Azure after a week). Credentials: an account name and key, or a connection string
 * (account key or SAS; its `BlobEndpoint` also reaches Azurite or a sovereign cloud).
 */
export class AzureBlobDestination implements Destination {
  readonly spec: DestinationSpec;
  private readonly container: ContainerClient;
  private readonly prefix: string;
  private readonly blockSize: number;

  constructor(spec: DestinationSpec, credentials: CredentialLookup, options: { blockSize?: number } = {}) {
    this.spec = spec;
    this.prefix = keyPrefix(spec);
    this.blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.container = serviceClient(spec, credentials).getContainerClient(requiredSetting(spec, "container"));
  }

  private blob(fileName: string) {
    return this.container.getBlockBlobClient(this.prefix + fileName);
  }

  /** Runs one storage call; its failure becomes a DestinationError naming the call and Azure's error code. */
  private async call<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof RestError)) throw new DestinationError(`Destination "${this.spec.name}": ${what} failed: ${(error as Error).message}.`);
      const status = error.statusCode ? `HTTP ${error.statusCode}` : (error.code ?? "no answer");
      const code = error.statusCode && (error.code ?? (error.details as { errorCode?: string } | undefined)?.errorCode);
      throw new DestinationError(`Destination "${this.spec.name}": ${what} failed with ${status}${code ? ` (${code})` : ""}.`);
    }
  }

  async open(fileName: string): Promise<Upload> {
    const destination = this;
    const blob = this.blob(fileName);
    // Block ids must all have the same length within a blob; the run's own prefix keeps two runs apart.
    const idPrefix = randomUUID();
    const blockIds: string[] = [];
    const stageBlock = async (body: Uint8Array<ArrayBuffer>) => {
      const blockId = Buffer.from(`${idPrefix}-${String(blockIds.length).padStart(6, "0")}`).toString("base64");
      await destination.call(`uploading block ${blockIds.length + 1}`, () => blob.stageBlock(blockId, body, body.length));
      blockIds.push(blockId);
    };
    const { stream, sentPieces, takeRest } = streamInPieces(this.blockSize, stageBlock);

    return {
      stream,
      async commit(digest: FileDigest) {
        const small = takeRest();
        const publish = sentPieces() ? () => blob.commitBlockList(blockIds, IF_NEW) : () => blob.upload(small, small.length, IF_NEW);
        await destination.call(sentPieces() ? "committing the block list" : "uploading the file", publish).catch((error: DestinationError) => {
          throw /HTTP 409/.test(error.message) ? new DestinationError(`Destination "${destination.spec.name}": ${fileName} already exists.`) : error;
        });
        const checksum = checksumFileContent(fileName, digest.checksum);
        await destination.call("uploading the checksum file", () =>
          destination.blob(`${fileName}${CHECKSUM_SUFFIX}`).upload(checksum, Buffer.byteLength(checksum), { blobHTTPHeaders: { blobContentType: "text/plain" } }),
        );
      },
      async abort() {
        stream.destroy();
      },
    };
  }

  async remove(fileName: string): Promise<void> {
    for (const name of [fileName, `${fileName}${CHECKSUM_SUFFIX}`]) {
      await this.call(`deleting ${name}`, () => this.blob(name).deleteIfExists());
    }
  }

  async download(fileName: string): Promise<Readable> {
    const response = await this.call(`downloading ${fileName}`, () => this.blob(fileName).download()).catch((error: DestinationError) => {
      throw /HTTP 404 \(BlobNotFound/.test(error.message) ? new DestinationError(`Destination "${this.spec.name}": ${fileName} does not exist.`) : error;
    });
    if (!response.readableStreamBody) throw new DestinationError(`Destination "${this.spec.name}": downloading ${fileName} returned no body.`);
    const body = response.readableStreamBody;
    return body instanceof Readable ? body : Readable.from(body);
  }

  async close(): Promise<void> {}
}
