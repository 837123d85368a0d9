import { Cron } from "croner";
import type { JobSchedule } from "../db/schema";

/**
 * A job's schedules as times, in UTC as the agent runs them (croner on both sides). Used when a job is
 * saved (its next due time) and by the missed-schedule sweep.
 */

function parse(cronExpression: string): Cron | null {
  try {
    return new Cron(cronExpression, { timezone: "UTC", mode: "5-part", paused: true });
  } catch {
    return null; // validated when saved; a pattern that no longer parses has no times
  }
}

/** The scheduled times of `cronExpression` in (from, to]. */
export function scheduledTimes(cronExpression: string, from: Date, to: Date): Date[] {
  const cron = parse(cronExpression);
  const times: Date[] = [];
  for (let next = cron?.nextRun(from); next && next <= to; next = cron!.nextRun(next)) times.push(next);
  return times;
}

/**
 * The earliest scheduled time after `after` over all of a job's schedules, or null when it has none
 * (a disabled job is never due). Stored as `backup_jobs.next_due_at` so the sweep reads only due jobs.
 */
export function nextDueAt(schedules: JobSchedule[], isEnabled: boolean, after: Date): Date | null {
  if (!isEnabled) return null;
  let earliest: Date | null = null;
  for (const { cronExpression } of schedules) {
    const next = parse(cronExpression)?.nextRun(after) ?? null;
    if (next && (!earliest || next < earliest)) earliest = next;
  }
  return earliest;
}
