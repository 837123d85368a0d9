import type { StoredFile } from "./state.ts";

/**
 * The files retention may delete: older than the cutoff, and built on by no file that stays. A file
 * stays when it is young enough, when a job's chain will build on it next (`heads`), or when a file
 * that stays builds on it, directly or through others: so a Full outlives its retained Differentials
 * and logs, and a log stays while a later retained log continues it.
 */
export function expiredFiles(files: StoredFile[], cutoff: Date, heads: Set<string>): StoredFile[] {
  const key = (destinationId: string, fileName: string) => `${destinationId}\n${fileName}`;
  const byKey = new Map(files.map((file) => [key(file.destinationId, file.fileName), file]));
  const kept = new Set<string>();
  const keepWithBases = (file: StoredFile) => {
    for (let current: StoredFile | undefined = file; current; ) {
      const id = key(current.destinationId, current.fileName);
      if (kept.has(id)) return;
      kept.add(id);
      current = current.baseFileName ? byKey.get(key(current.destinationId, current.baseFileName)) : undefined;
    }
  };
  for (const file of files) if (file.writtenAt >= cutoff.getTime() || heads.has(file.fileName)) keepWithBases(file);
  return files.filter((file) => !kept.has(key(file.destinationId, file.fileName)));
}
