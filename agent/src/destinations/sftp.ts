import { createHash, randomUUID } from "node:crypto";
import { once } from "node:events";
import { posix } from "node:path";
import type { Readable } from "node:stream";
import SftpClient from "ssh2-sftp-client";
import { checksumFileContent, type FileDigest } from "../pipeline/checksum.ts";
import type { KnownHosts } from "../state.ts";
import type { CredentialLookup } from "../types.ts";
import { CHECKSUM_SUFFIX, DestinationError, destinationCredential, requiredSetting, type Destination, type DestinationSpec, type Upload } from "./destination.ts";

/**
 * Files on an SSH server (ssh2-sftp-client): written under a temporary name and renamed into place,
 * which SFTP refuses to do over an existing file, so no backup is ever overwritten.
 */
export class SftpDestination implements Destination {
  readonly spec: DestinationSpec;
  private readonly directory: string;
  private readonly connectOptions: SftpClient.ConnectOptions;
  private client: Promise<SftpClient> | undefined;
  private readonly knownHosts: KnownHosts;
  private hostKeyProblem: string | undefined;

  constructor(spec: DestinationSpec, credentials: CredentialLookup, knownHosts: KnownHosts) {
    this.knownHosts = knownHosts;
    this.spec = spec;
    this.directory = requiredSetting(spec, "path");
    const host = requiredSetting(spec, "host");
    const port = typeof spec.settings.port === "number" ? spec.settings.port : 22;
    const credential = destinationCredential(spec, credentials, ["SftpCredential"], "an SftpCredential");
    this.connectOptions = {
      host,
      port,
      username: credential.username,
      password: credential.password,
      privateKey: credential.privateKey,
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer) => this.verifyHostKey(`${host}:${port}`, key),
    };
  }

  /** Trust on first use, like ssh's known_hosts: the first key is remembered, a different one refused. */
  private verifyHostKey(host: string, key: Buffer): boolean {
    const fingerprint = `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
    const known = this.knownHosts.hostKey(host);
    if (!known) {
      this.knownHosts.rememberHostKey(host, fingerprint);
      return true;
    }
    if (known === fingerprint) return true;
    this.hostKeyProblem = `the host key of ${host} changed (was ${known}, now ${fingerprint}); if that is expected, run "datasync-agent forget-host ${host}"`;
    return false;
  }

  private connection(): Promise<SftpClient> {
    this.client ??= (async () => {
      // Quiet global listeners: the library would print every connection end; failures reach us as rejections.
      const client = new SftpClient("datasync-agent", { error: () => {}, end: () => {}, close: () => {} });
      try {
        await client.connect(this.connectOptions);
      } catch (error) {
        this.client = undefined;
        const reason = this.hostKeyProblem ?? (error as Error).message.replace(/^connect: /, "");
        throw new DestinationError(`Destination "${this.spec.name}": cannot connect to ${this.connectOptions.host}:${this.connectOptions.port}: ${reason}`);
      }
      return client;
    })();
    return this.client;
  }

  private path(fileName: string): string {
    return posix.join(this.directory, fileName);
  }

  async open(fileName: string): Promise<Upload> {
    const client = await this.connection();
    if (!(await client.exists(this.directory))) await client.mkdir(this.directory, true);
    const finalPath = this.path(fileName);
    const partialPath = this.path(`.${fileName}.${randomUUID()}.partial`);
    const stream = client.createWriteStream(partialPath, { flags: "wx", mode: 0o600 });
    const name = this.spec.name;
    return {
      stream,
      async commit(digest: FileDigest) {
        if (!stream.closed) await once(stream, "close");
        const checksumPartial = `${partialPath}${CHECKSUM_SUFFIX}`;
        await client.put(Buffer.from(checksumFileContent(fileName, digest.checksum)), checksumPartial, { writeStreamOptions: { mode: 0o600 } });
        try {
          await client.rename(partialPath, finalPath);
        } catch (error) {
          throw new DestinationError(`Destination "${name}": cannot move the file into place (${(error as Error).message}); does ${finalPath} already exist?`);
        }
        await client.delete(`${finalPath}${CHECKSUM_SUFFIX}`, true);
        await client.rename(checksumPartial, `${finalPath}${CHECKSUM_SUFFIX}`);
      },
      async abort() {
        stream.destroy();
        await client.delete(partialPath, true).catch(() => {});
        await client.delete(`${partialPath}${CHECKSUM_SUFFIX}`, true).catch(() => {});
      },
    };
  }

  async remove(fileName: string): Promise<void> {
    const client = await this.connection();
    await client.delete(this.path(fileName), true);
    await client.delete(this.path(`${fileName}${CHECKSUM_SUFFIX}`), true);
  }

  async download(fileName: string): Promise<Readable> {
    const client = await this.connection();
    const path = this.path(fileName);
    if ((await client.exists(path)) !== "-") throw new DestinationError(`Destination "${this.spec.name}": ${path} does not exist.`);
    return client.createReadStream(path) as Readable;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await (await client.catch(() => undefined))?.end().catch(() => {});
  }
}
