/** ISO 8601 UTC with a `Z` and whole seconds, as the seed prints timestamps (`2026-03-26T14:30:00Z`). */
export function isoUtc(date: Date): string;
export function isoUtc(date: Date | null | undefined): string | null;
export function isoUtc(date: Date | null | undefined): string | null {
  if (!date) return null;
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
