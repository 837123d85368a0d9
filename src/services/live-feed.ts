import type { RunStatus } from "../domain/backup";
import { errorText, log } from "../lib/log";
import type { BackupReport } from "../protocol/agent-protocol";

/**
 * What the dashboard's live feed (`GET /api/live`, a WebSocket) sends: small change notices, each a
 * JSON text frame. The dashboard refetches what a notice touches; `bytesDone` rides along so progress
 * shows without a request.
 */
export type LiveEvent =
  | { type: "agent.presence"; agentId: string; isOnline: boolean }
  | { type: "backup.run"; backupRunId: string; backupJobId?: string; status: Exclude<RunStatus, "Queued">; bytesDone?: number };

/** The live event of an agent's backup report that the platform accepted. */
export function liveRunEvent(report: BackupReport): LiveEvent {
  switch (report.type) {
    case "backup.started":
      return { type: "backup.run", backupRunId: report.backupRunId, backupJobId: report.backupJobId, status: "Running" };
    case "backup.progress":
      return { type: "backup.run", backupRunId: report.backupRunId, status: "Running", bytesDone: report.bytesDone };
    case "backup.completed":
      return { type: "backup.run", backupRunId: report.backupRunId, status: "Success" };
    case "backup.failed":
      return { type: "backup.run", backupRunId: report.backupRunId, status: "Failed" };
  }
}

export function liveFeed(env: Env, subscriberId: string) {
  return env.LIVE_FEED.get(env.LIVE_FEED.idFromName(subscriberId));
}

/** Fans an event out to the subscriber's open dashboards. Never throws: the feed is a convenience, D1 is the record. */
export async function publishLive(env: Env, subscriberId: string, event: LiveEvent): Promise<void> {
  try {
    await liveFeed(env, subscriberId).publish(event);
  } catch (err) {
    log.warn("live.publish.failed", { subscriberId, type: event.type, error: errorText(err) });
  }
}
