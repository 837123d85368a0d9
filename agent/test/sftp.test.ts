import { randomUUID } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupDatabase } from "../src/backup.ts";
import { SftpDestination } from "../src/destinations/sftp.ts";
import { fileChecksum } from "../src/pipeline/restore-pipeline.ts";
import type { Credential } from "../src/types.ts";
import { fixedEngine } from "./support/fixed-engine.ts";
import { sshdUnavailableReason, startSshd } from "./support/sshd.ts";

const unavailable = sshdUnavailableReason();
const CREDENTIAL_ID = randomUUID();

describe.skipIf(unavailable)(`SftpStorage against a local sshd${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let dir: string;
  let sshd: Awaited<ReturnType<typeof startSshd>>;
  let credential: Credential;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ds-sftp-"));
    sshd = await startSshd(join(dir, "sshd"));
    credential = { $type: "SftpCredential", username: sshd.username, privateKey: sshd.privateKey };
  });
  afterAll(async () => {
    await sshd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const knownHosts = new Map<string, string>();
  const knownHostsStore = { hostKey: (host: string) => knownHosts.get(host), rememberHostKey: (host: string, fingerprint: string) => void knownHosts.set(host, fingerprint) };
  const destination = (override?: Credential) =>
    new SftpDestination(
      { destinationId: randomUUID(), name: "Backup host", type: "SftpStorage", settings: { host: "127.0.0.1", port: sshd.port, path: join(dir, "remote", "db") }, credentialReferenceId: CREDENTIAL_ID },
      { get: () => override ?? credential },
      knownHostsStore,
    );

  it("uploads under a temporary name, renames into place with its checksum file, and removes for retention", async () => {
    const target = destination();
    try {
      const result = await backupDatabase({ engine: fixedEngine("notes", "INSERT 1;\n".repeat(10_000)), database: "notes", mode: "Full", startedAt: new Date("2026-03-26T02:00:00Z"), destinations: [target], compression: "gzip" });
      const path = join(dir, "remote", "db", result.fileName);
      expect(result.fileName).toBe("notes_Full_20260326_020000.sql.gz");
      expect((await stat(path)).size).toBe(result.fileSize);
      expect(await fileChecksum(path)).toBe(result.checksum);
      expect(await readFile(`${path}.sha256`, "utf8")).toBe(`${result.checksum.slice(7)}  ${result.fileName}\n`);
      expect((await readdir(join(dir, "remote", "db"))).sort()).toEqual([result.fileName, `${result.fileName}.sha256`]);

      // The same name again (same database, mode and second) must not overwrite the first file.
      await expect(
        backupDatabase({ engine: fixedEngine("notes", "other"), database: "notes", mode: "Full", startedAt: new Date("2026-03-26T02:00:00Z"), destinations: [target], compression: "gzip" }),
      ).rejects.toThrow(/cannot move the file into place/);
      expect(await fileChecksum(path)).toBe(result.checksum);
      expect((await readdir(join(dir, "remote", "db"))).filter((name) => name.endsWith(".partial"))).toEqual([]);

      // Read back for a restore: the same bytes.
      const fetched = join(dir, `fetched-${result.fileName}`);
      await pipeline(await target.download(result.fileName), createWriteStream(fetched));
      expect(await fileChecksum(fetched)).toBe(result.checksum);

      await target.remove(result.fileName);
      expect(existsSync(path)).toBe(false);
      expect(existsSync(`${path}.sha256`)).toBe(false);
      await expect(target.download(result.fileName)).rejects.toThrow(`Destination "Backup host": ${path} does not exist.`);
    } finally {
      await target.close();
    }
  });

  it("remembers the server's host key on first use and refuses a changed one", async () => {
    const host = `127.0.0.1:${sshd.port}`;
    expect(knownHosts.get(host)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/); // learned by the first test
    const learned = knownHosts.get(host)!;
    knownHosts.set(host, "SHA256:somebody-else");
    const target = destination();
    await expect(
      backupDatabase({ engine: fixedEngine("notes", "x"), database: "notes", mode: "Full", startedAt: new Date(), destinations: [target], compression: "gzip" }),
    ).rejects.toThrow(`Destination "Backup host": cannot connect to 127.0.0.1:${sshd.port}: the host key of ${host} changed (was SHA256:somebody-else, now ${learned}); if that is expected, run "datasync-agent forget-host ${host}"`);
    knownHosts.set(host, learned);
  });

  it("fails with a clear error when the server refuses the key", async () => {
    const { execFileSync } = await import("node:child_process");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "stranger")]);
    const stranger = destination({ $type: "SftpCredential", username: sshd.username, privateKey: await readFile(join(dir, "stranger"), "utf8") });
    await expect(
      backupDatabase({ engine: fixedEngine("notes", "x"), database: "notes", mode: "Full", startedAt: new Date(), destinations: [stranger], compression: "gzip" }),
    ).rejects.toThrow(/Destination "Backup host": cannot connect to 127\.0\.0\.1:\d+: .*authentication/i);
  });
});
