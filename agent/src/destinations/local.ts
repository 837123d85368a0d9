import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { link, mkdir, open, rm, writeFile } from "node:fs/promises";
import { once } from "node:events";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { checksumFileContent, type FileDigest } from "../pipeline/checksum.ts";
import { CHECKSUM_SUFFIX, DestinationError, requiredSetting, type Destination, type DestinationSpec, type Upload } from "./destination.ts";

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Files in a folder on the agent's machine: written under a temporary name, fsynced, then linked into place. */
export class LocalDestination implements Destination {
  readonly spec: DestinationSpec;
  private readonly directory: string;

  constructor(spec: DestinationSpec) {
    this.spec = spec;
    this.directory = requiredSetting(spec, "path");
  }

  async open(fileName: string): Promise<Upload> {
    await mkdir(this.directory, { recursive: true, mode: 0o750 });
    const finalPath = join(this.directory, fileName);
    const partialPath = join(this.directory, `.${fileName}.${randomUUID()}.partial`);
    // flush: fsync before the descriptor closes, so the data is on disk before the rename publishes it.
    const stream = createWriteStream(partialPath, { flags: "wx", mode: 0o600, flush: true });
    const directory = this.directory;
    return {
      stream,
      async commit(digest: FileDigest) {
        if (!stream.closed) await once(stream, "close"); // the fsync happens on close
        const checksumPath = `${finalPath}${CHECKSUM_SUFFIX}`;
        const checksumPartial = `${partialPath}${CHECKSUM_SUFFIX}`;
        await writeFile(checksumPartial, checksumFileContent(fileName, digest.checksum), { mode: 0o600, flush: true });
        try {
          // link() refuses to replace an existing file, unlike rename(): never overwrite another backup.
          await link(partialPath, finalPath);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new DestinationError(`${finalPath} already exists.`);
          throw error;
        } finally {
          await rm(partialPath, { force: true });
        }
        await rm(checksumPath, { force: true });
        await link(checksumPartial, checksumPath).finally(() => rm(checksumPartial, { force: true }));
        await syncDirectory(directory);
      },
      async abort() {
        stream.destroy();
        await rm(partialPath, { force: true });
        await rm(`${partialPath}${CHECKSUM_SUFFIX}`, { force: true });
      },
    };
  }

  async remove(fileName: string): Promise<void> {
    await rm(join(this.directory, fileName), { force: true });
    await rm(join(this.directory, `${fileName}${CHECKSUM_SUFFIX}`), { force: true });
  }

  async download(fileName: string): Promise<Readable> {
    const stream = createReadStream(join(this.directory, fileName));
    try {
      await once(stream, "open"); // a missing file fails here, not midway through a restore
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new DestinationError(`Destination "${this.spec.name}": ${fileName} does not exist.`);
      throw error;
    }
    return stream;
  }

  async close(): Promise<void> {}
}
