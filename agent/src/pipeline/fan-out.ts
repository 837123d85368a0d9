import { Writable } from "node:stream";
import { finished } from "node:stream/promises";

function writeTo(target: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => target.write(chunk, (error) => (error ? reject(error) : resolve())));
}

/**
 * Writes every chunk to all targets and waits for each before taking the next one, so the slowest
 * destination sets the pace and nothing piles up in memory. Ends when every target has finished;
 * the first target error fails the whole stream.
 */
export class FanOut extends Writable {
  private readonly targets: Writable[];

  constructor(targets: Writable[]) {
    super();
    this.targets = targets;
    for (const target of targets) target.on("error", (error) => this.destroy(error));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void) {
    Promise.all(this.targets.map((target) => writeTo(target, chunk))).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void) {
    Promise.all(
      this.targets.map((target) => {
        target.end();
        return finished(target);
      }),
    ).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void) {
    for (const target of this.targets) if (!target.writableFinished) target.destroy();
    callback(error);
  }
}
