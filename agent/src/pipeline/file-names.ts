import type { BackupMode } from "../types.ts";

/** Keeps letters, digits, dot, underscore and dash; everything else (spaces, slashes, quotes) becomes a dash. */
export function sanitizeNamePart(name: string): string {
  const cleaned = name.normalize("NFKD").replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "");
  return cleaned.slice(0, 100) || "database";
}

export function utcStamp(date: Date): string {
  const iso = date.toISOString(); // 2026-03-26T02:00:00.000Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/** `AdventureWorks_Full_20260326_020000.sql.gz.enc`: database, mode, UTC time, then the format's extensions. */
export function backupFileName(args: { database: string; mode: BackupMode; startedAt: Date; dumpExtension: string; compressionExtension: string; encrypted: boolean }): string {
  const parts = [`${sanitizeNamePart(args.database)}_${args.mode}_${utcStamp(args.startedAt)}`, args.dumpExtension, args.compressionExtension];
  if (args.encrypted) parts.push("enc");
  return parts.join(".");
}

/** The dump format part of a backup file name (`sql`, `dump`, `sqlite`), used to pick the restore tool. */
export function dumpExtensionOf(fileName: string): string {
  const parts = fileName.split("/").pop()!.split(".");
  const tail = parts.slice(1).filter((part) => part !== "enc" && part !== "gz" && part !== "zst");
  return tail[tail.length - 1] ?? "";
}
