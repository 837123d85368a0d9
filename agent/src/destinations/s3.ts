import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { AwsClient } from "aws4fetch";
import { checksumFileContent, type FileDigest } from "../pipeline/checksum.ts";
import type { CredentialLookup } from "../types.ts";
import { CHECKSUM_SUFFIX, DestinationError, destinationCredential, keyPrefix, requiredSetting, streamInPieces, type Destination, type DestinationSpec, type Upload } from "./destination.ts";

/** S3 needs parts of at least 5 MiB (but the last); 8 MiB keeps memory small and part count low (10,000 max → 80 GB). */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

const xmlValue = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
const xmlEscape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Where an S3-compatible store keeps the destination's files and how its requests are signed. */
export interface S3Store {
  bucket: string;
  prefix: string;
  /** Path-style base URL; none means AWS's virtual-hosted `https://<bucket>.s3.<region>.amazonaws.com`. */
  endpoint?: string;
  /** Signing region (`auto` for Google Cloud Storage). */
  region: string;
}

export interface S3Options {
  partSize?: number;
}

/** Sends one request to the store, authenticated (SigV4 for S3 and HMAC keys, a bearer token for a Google service account). */
export type SignedFetch = (url: string, init: RequestInit) => Promise<Response>;

/** SigV4 signing (aws4fetch) with an access key. */
export function sigV4Fetch(accessKeyId: string, secretAccessKey: string, region: string): SignedFetch {
  const client = new AwsClient({ accessKeyId, secretAccessKey, region, service: "s3" });
  return (url, init) => client.fetch(url, init);
}

/** An S3Storage destination's store, from its settings. */
function s3Store(spec: DestinationSpec): S3Store {
  return {
    bucket: requiredSetting(spec, "bucket"),
    region: requiredSetting(spec, "region"),
    prefix: keyPrefix(spec),
    endpoint: typeof spec.settings.endpoint === "string" ? spec.settings.endpoint.replace(/\/+$/, "") : undefined,
  };
}

/**
 * S3 and S3-compatible stores (custom `endpoint`, path-style addressing), SigV4-signed by default.
 * Files go up as multipart uploads streamed part by part; the object appears only when the upload is
 * completed in `commit`, so a failed run never leaves a partial object.
 */
export class S3Destination implements Destination {
  readonly spec: DestinationSpec;
  private readonly signedFetch: SignedFetch;
  private readonly store: S3Store;
  private readonly partSize: number;

  /** `store` and `signedFetch` default to an S3Storage destination's (its settings, its S3Credential); Google Cloud Storage passes its own. */
  constructor(spec: DestinationSpec, credentials: CredentialLookup, options: S3Options & { store?: S3Store; signedFetch?: SignedFetch } = {}) {
    this.spec = spec;
    this.store = options.store ?? s3Store(spec);
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (options.signedFetch) this.signedFetch = options.signedFetch;
    else {
      const credential = destinationCredential(spec, credentials, ["S3Credential"], "an S3Credential");
      this.signedFetch = sigV4Fetch(credential.accessKeyId, credential.secretAccessKey, this.store.region || credential.region);
    }
  }

  private objectUrl(fileName: string, query = ""): string {
    const { bucket, endpoint, prefix, region } = this.store;
    const key = (prefix + fileName).split("/").map(encodeURIComponent).join("/");
    const base = endpoint ? `${endpoint}/${encodeURIComponent(bucket)}` : `https://${bucket}.s3.${region}.amazonaws.com`;
    return `${base}/${key}${query}`;
  }

  private async request(what: string, url: string, init: RequestInit & { body?: BodyInit }): Promise<Response> {
    let response: Response;
    try {
      response = await this.signedFetch(url, init);
    } catch (error) {
      if (error instanceof DestinationError) throw error; // already says what went wrong (a refused service account key)
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new DestinationError(`Destination "${this.spec.name}": ${what} failed: ${cause ?? (error as Error).message}.`);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => "");
    const detail = [xmlValue(text, "Code"), xmlValue(text, "Message")].filter(Boolean).join(": ");
    throw new DestinationError(`Destination "${this.spec.name}": ${what} failed with HTTP ${response.status}${detail ? ` (${detail})` : ""}.`);
  }

  async open(fileName: string): Promise<Upload> {
    const destination = this;
    const parts: { partNumber: number; etag: string }[] = [];
    let uploadId: string | undefined;
    const uploadPart = async (body: Uint8Array<ArrayBuffer>) => {
      uploadId ??= await destination.startMultipart(fileName);
      const partNumber = parts.length + 1;
      const response = await destination.request(`uploading part ${partNumber}`, destination.objectUrl(fileName, `?partNumber=${partNumber}&uploadId=${encodeURIComponent(uploadId)}`), {
        method: "PUT",
        body,
      });
      parts.push({ partNumber, etag: response.headers.get("etag") ?? "" });
    };
    const { stream, takeRest } = streamInPieces(this.partSize, uploadPart);

    return {
      stream,
      async commit(digest: FileDigest) {
        if (uploadId) await destination.completeMultipart(fileName, uploadId, parts);
        else await destination.request("uploading the file", destination.objectUrl(fileName), { method: "PUT", body: takeRest() });
        await destination.request("uploading the checksum file", destination.objectUrl(`${fileName}${CHECKSUM_SUFFIX}`), {
          method: "PUT",
          body: checksumFileContent(fileName, digest.checksum),
          headers: { "Content-Type": "text/plain" },
        });
      },
      async abort() {
        stream.destroy();
        if (!uploadId) return;
        // Best effort: stores without AbortMultipartUpload expire incomplete uploads themselves.
        await destination.request("aborting the multipart upload", destination.objectUrl(fileName, `?uploadId=${encodeURIComponent(uploadId)}`), { method: "DELETE" }).catch(() => {});
      },
    };
  }

  private async startMultipart(fileName: string): Promise<string> {
    const created = await this.request("starting the multipart upload", this.objectUrl(fileName, "?uploads"), { method: "POST" });
    const uploadId = xmlValue(await created.text(), "UploadId");
    if (!uploadId) throw new DestinationError(`Destination "${this.spec.name}": the store did not return an UploadId.`);
    return uploadId;
  }

  private async completeMultipart(fileName: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<void> {
    const xml = `<CompleteMultipartUpload>${parts.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${xmlEscape(p.etag)}</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
    const response = await this.request("completing the multipart upload", this.objectUrl(fileName, `?uploadId=${encodeURIComponent(uploadId)}`), {
      method: "POST",
      body: xml,
      headers: { "Content-Type": "application/xml" },
    });
    // S3 may answer 200 with an error document when completion fails late.
    const text = await response.text();
    if (text.includes("<Error>")) throw new DestinationError(`Destination "${this.spec.name}": completing the multipart upload failed (${xmlValue(text, "Code") ?? "error"}).`);
  }

  async remove(fileName: string): Promise<void> {
    for (const name of [fileName, `${fileName}${CHECKSUM_SUFFIX}`]) {
      await this.request(`deleting ${name}`, this.objectUrl(name), { method: "DELETE" }).catch((error: DestinationError) => {
        if (!/HTTP 404/.test(error.message)) throw error;
      });
    }
  }

  async download(fileName: string): Promise<Readable> {
    const response = await this.request(`downloading ${fileName}`, this.objectUrl(fileName), { method: "GET" }).catch((error: DestinationError) => {
      throw /HTTP 404/.test(error.message) ? new DestinationError(`Destination "${this.spec.name}": ${fileName} does not exist.`) : error;
    });
    if (!response.body) throw new DestinationError(`Destination "${this.spec.name}": downloading ${fileName} returned no body.`);
    return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  }

  async close(): Promise<void> {}
}

