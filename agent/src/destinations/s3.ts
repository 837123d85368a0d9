import { Writable } from "node:stream";
import { AwsClient } from "aws4fetch";
import { checksumFileContent, type FileDigest } from "../pipeline/checksum.ts";
import type { CredentialLookup } from "../types.ts";
import { CHECKSUM_SUFFIX, DestinationError, requiredSetting, type Destination, type DestinationSpec, type Upload } from "./destination.ts";

/** S3 needs parts of at least 5 MiB (but the last); 8 MiB keeps memory small and part count low (10,000 max → 80 GB). */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

const xmlValue = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
const xmlEscape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * S3 and S3-compatible stores (custom `endpoint`, path-style addressing) through aws4fetch's SigV4
 * signing. Files go up as multipart uploads streamed part by part; the object appears only when the
 * upload is completed in `commit`, so a failed run never leaves a partial object.
 */
export class S3Destination implements Destination {
  readonly spec: DestinationSpec;
  private readonly client: AwsClient;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly endpoint: string | undefined;
  private readonly region: string;
  private readonly partSize: number;

  constructor(spec: DestinationSpec, credentials: CredentialLookup, options: { partSize?: number } = {}) {
    this.spec = spec;
    this.bucket = requiredSetting(spec, "bucket");
    this.region = requiredSetting(spec, "region");
    const prefix = typeof spec.settings.prefix === "string" ? spec.settings.prefix.replace(/^\/+/, "") : "";
    this.prefix = prefix && !prefix.endsWith("/") ? `${prefix}/` : prefix;
    this.endpoint = typeof spec.settings.endpoint === "string" ? spec.settings.endpoint.replace(/\/+$/, "") : undefined;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    const credential = spec.credentialReferenceId ? credentials.get(spec.credentialReferenceId) : undefined;
    if (!spec.credentialReferenceId) throw new DestinationError(`Destination "${spec.name}" (S3Storage) has no credential: give it an S3Credential.`);
    if (!credential) throw new DestinationError(`Destination "${spec.name}": credential ${spec.credentialReferenceId} has not been received from the platform yet.`);
    if (credential.$type !== "S3Credential") throw new DestinationError(`Destination "${spec.name}" needs an S3Credential, not a ${credential.$type}.`);
    this.client = new AwsClient({ accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey, region: this.region || credential.region, service: "s3" });
  }

  private objectUrl(fileName: string, query = ""): string {
    const key = (this.prefix + fileName).split("/").map(encodeURIComponent).join("/");
    const base = this.endpoint ? `${this.endpoint}/${encodeURIComponent(this.bucket)}` : `https://${this.bucket}.s3.${this.region}.amazonaws.com`;
    return `${base}/${key}${query}`;
  }

  private async request(what: string, url: string, init: RequestInit & { body?: BodyInit }): Promise<Response> {
    let response: Response;
    try {
      response = await this.client.fetch(url, init);
    } catch (error) {
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
    const buffer = new PartBuffer();
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

    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        buffer.add(chunk);
        if (buffer.bytes < destination.partSize) return callback();
        uploadPart(buffer.take()).then(() => callback(), callback);
      },
      final(callback) {
        // Small files stay in memory for one PUT at commit; otherwise the rest is the last part.
        if (!uploadId || buffer.bytes === 0) return callback();
        uploadPart(buffer.take()).then(() => callback(), callback);
      },
    });

    return {
      stream,
      async commit(digest: FileDigest) {
        if (uploadId) await destination.completeMultipart(fileName, uploadId, parts);
        else await destination.request("uploading the file", destination.objectUrl(fileName), { method: "PUT", body: buffer.take() });
        await destination.request("uploading the checksum file", destination.objectUrl(`${fileName}${CHECKSUM_SUFFIX}`), {
          method: "PUT",
          body: checksumFileContent(fileName, digest.checksum),
          headers: { "Content-Type": "text/plain" },
        });
      },
      async abort() {
        stream.destroy();
        buffer.take();
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

  async close(): Promise<void> {}
}

/** The bytes written since the last part went up, handed over as one body. */
class PartBuffer {
  private chunks: Buffer[] = [];
  bytes = 0;

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  take(): Uint8Array<ArrayBuffer> {
    const body = new Uint8Array(this.bytes);
    let offset = 0;
    for (const chunk of this.chunks) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    this.chunks = [];
    this.bytes = 0;
    return body;
  }
}
