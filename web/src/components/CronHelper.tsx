import { Cron } from "croner";

const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const format = new Intl.DateTimeFormat(undefined, { weekday: "short", dateStyle: undefined, year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });

/** The next `count` times a 5-field cron fires. Agents run schedules in UTC (agent/src/scheduler.ts). */
export function nextRuns(expression: string, count = 5, from = new Date()): Date[] | string {
  if (expression.trim().split(/\s+/).length !== 5) return "A cron expression has 5 fields: minute hour day-of-month month day-of-week.";
  try {
    const cron = new Cron(expression, { mode: "5-part", timezone: "UTC", paused: true });
    const runs = cron.nextRuns(count, from);
    cron.stop();
    return runs.length ? runs : "This expression never matches a date.";
  } catch (err) {
    return (err as Error).message.replace(/^CronPattern: /, "");
  }
}

export const formatRun = (date: Date) => format.format(date);

/** Shows what a cron expression means: its next 5 run times in the user's time zone. */
export function CronHelper({ expression, id }: { expression: string; id: string }) {
  const runs = nextRuns(expression);
  return (
    <div id={id} className="cron-helper" aria-live="polite">
      {typeof runs === "string" ? (
        <p className="error">{runs}</p>
      ) : (
        <>
          <p className="muted">
            Next 5 runs (schedules run in UTC; shown in your time zone, {timeZone}):
          </p>
          <ol>
            {runs.map((run) => (
              <li key={run.getTime()}>
                <time dateTime={run.toISOString()}>{formatRun(run)}</time>
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
