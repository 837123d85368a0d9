import { createDb } from "./db/client";
import { clock } from "./lib/clock";
import { insecureConfiguration } from "./lib/environment";
import { errorText, log } from "./lib/log";
import { purgeOutbox } from "./services/email";
import { failStaleTriggeredRuns } from "./services/backup-run";
import { purgeExpiredLogs } from "./services/log";
import { detectMissedSchedules } from "./services/anomaly";
import {
  purgeDeletedBackupFiles,
  purgeExpiredBrowserSessions,
  purgeExpiredTokens,
  purgeFinishedDeliveries,
  purgeIdleAlertThrottles,
  purgeMissedScheduleReports,
  purgeOldEvents,
  purgeOldHistory,
  purgeRevokedAgentTokens,
} from "./services/housekeeping";
import { sampleAgentsOnline } from "./services/gauges";
import { queueScheduledVerifications } from "./services/restore";
import { failStaleRestores } from "./services/restore-report";
import { sweepWebhookDeliveries } from "./services/webhook-queue";
import { resealUnderCurrentKeyBatch } from "./services/secret-rotation";
import { enqueueWeeklyReports, sweepAlerts } from "./services/alert-queue";

/** One periodic job, run by the cron trigger whose expression it names (see `[triggers]` in wrangler.toml). */
interface CronTask {
  name: string;
  cron: string;
  run: (env: Env, now: Date) => Promise<unknown>;
}

/** The cron expressions of wrangler.toml's `[triggers]`. */
export const CRON = { everyMinute: "* * * * *", daily: "17 3 * * *", weekly: "0 8 * * 1" } as const;

/** Every periodic job of the platform. Add yours here. */
export const CRON_TASKS: CronTask[] = [
  { name: "log retention purge", cron: CRON.daily, run: (env, now) => purgeExpiredLogs(createDb(env.DB), now) },
  { name: "outbox purge (7 days)", cron: CRON.daily, run: (env, now) => purgeOutbox(createDb(env.DB), now) },
  { name: "finished webhook deliveries purge (30 days)", cron: CRON.daily, run: (env, now) => purgeFinishedDeliveries(createDb(env.DB), now) },
  { name: "events purge (90 days, none pending)", cron: CRON.daily, run: (env, now) => purgeOldEvents(createDb(env.DB), now) },
  { name: "expired email and registration tokens purge", cron: CRON.daily, run: (env, now) => purgeExpiredTokens(createDb(env.DB), now) },
  { name: "missed-schedule reports purge (7 days)", cron: CRON.daily, run: (env, now) => purgeMissedScheduleReports(createDb(env.DB), now) },
  { name: "expired browser sessions purge", cron: CRON.daily, run: (env, now) => purgeExpiredBrowserSessions(createDb(env.DB), now) },
  { name: "deleted agents' token markers purge (180 days)", cron: CRON.daily, run: (env, now) => purgeRevokedAgentTokens(createDb(env.DB), now) },
  { name: "removed backup files purge (90 days)", cron: CRON.daily, run: (env, now) => purgeDeletedBackupFiles(createDb(env.DB), now) },
  { name: "run, restore and drill history purge (400 days)", cron: CRON.daily, run: (env, now) => purgeOldHistory(createDb(env.DB), now) },
  { name: "idle alert throttles purge (90 days)", cron: CRON.daily, run: (env, now) => purgeIdleAlertThrottles(createDb(env.DB), now) },
  // Daily, not every minute: finding what is left scans four tables (see secret-rotation.ts).
  { name: "re-seal under the current ENCRYPTION_KEY (while a previous one is set)", cron: CRON.daily, run: (env) => resealUnderCurrentKeyBatch({ db: createDb(env.DB), env }) },
  { name: "fail triggered runs never started", cron: CRON.everyMinute, run: failStaleTriggeredRuns },
  { name: "enqueue webhook deliveries the publish missed", cron: CRON.everyMinute, run: (env, now) => sweepWebhookDeliveries(env, createDb(env.DB), now) },
  { name: "report missed scheduled backups", cron: CRON.everyMinute, run: detectMissedSchedules },
  { name: "sample agents online", cron: CRON.everyMinute, run: sampleAgentsOnline },
  { name: "queue due alert batches and agents offline 10 minutes", cron: CRON.everyMinute, run: (env, now) => sweepAlerts({ db: createDb(env.DB), env, now }) },
  { name: "queue weekly summary emails", cron: CRON.weekly, run: (env, now) => enqueueWeeklyReports({ db: createDb(env.DB), env, now }) },
  { name: "queue scheduled verification drills", cron: CRON.everyMinute, run: queueScheduledVerifications },
  { name: "fail restores and drills never finished", cron: CRON.everyMinute, run: failStaleRestores },
];

/**
 * The Worker's `scheduled` handler: runs the tasks of the trigger that fired, each on its own, so one
 * failing task does not stop the others (it is logged and runs again at its next trigger).
 */
export async function scheduled(controller: ScheduledController, env: Env): Promise<void> {
  if (insecureConfiguration(env).length > 0) throw new Error("Server misconfigured: no cron task runs until its secrets are fixed.");
  const now = clock.now();
  const tasks = CRON_TASKS.filter((task) => task.cron === controller.cron);
  const results = await Promise.allSettled(tasks.map((task) => task.run(env, now)));
  results.forEach((result, i) => {
    if (result.status === "rejected") log.error("cron.task.failed", { task: tasks[i].name, error: errorText(result.reason) });
  });
}
