import { useQuery } from "@tanstack/react-query";
import { Link } from "wouter";
import { apiPage } from "../api/client";
import type { BackupJobSummary, LogMessage } from "../api/types";
import { formatRun, nextRuns } from "../components/CronHelper";
import { EmptyState, QueryState, StatusBadge, formatTime } from "../components/ui";
import { useAgents } from "./Agents";
import { useJobs } from "./BackupJobs";

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;

function Problems() {
  const since = new Date(Date.now() - WEEK_MS);
  since.setUTCSeconds(0, 0);
  const problems = useQuery({
    queryKey: ["logs", "overview-problems"],
    queryFn: async () => {
      const [errors, warnings] = await Promise.all(
        ["Error", "Warning"].map((severity) => apiPage<LogMessage>("/api/log", { severity, from: since.toISOString(), pageSize: 5 })),
      );
      return { total: errors.total + warnings.total, items: [...errors.items, ...warnings.items].sort((a, b) => b.timestamp.localeCompare(a.timestamp)).slice(0, 5) };
    },
  });
  return (
    <section className="card" aria-labelledby="problems-heading">
      <h2 id="problems-heading">Failures and anomalies, last 7 days</h2>
      <QueryState query={problems}>
        {({ total, items }) =>
          total === 0 ? (
            <p className="success">No failures or anomalies this week.</p>
          ) : (
            <>
              <p>
                <strong>{total}</strong> warnings and errors. <Link href="/logs">See the logs</Link>
              </p>
              <ul>
                {items.map((log) => (
                  <li key={log.logMessageId}>
                    {formatTime(log.timestamp)}: {log.message}
                  </li>
                ))}
              </ul>
            </>
          )
        }
      </QueryState>
    </section>
  );
}

function AgentsOnlineCard() {
  const agents = useAgents();
  return (
    <section className="card" aria-labelledby="agents-heading">
      <h2 id="agents-heading">Agents online</h2>
      <QueryState query={agents}>
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No agents yet.">
              <p>
                <Link href="/agents">Install your first agent</Link> on a database server.
              </p>
            </EmptyState>
          ) : (
            <p className="big">
              {list.filter((a) => a.isOnline).length} of {list.length} <Link href="/agents">agents</Link> online
            </p>
          )
        }
      </QueryState>
    </section>
  );
}

function LastRunsCard() {
  const jobs = useJobs();
  return (
    <section className="card" aria-labelledby="last-runs-heading">
      <h2 id="last-runs-heading">Last runs</h2>
      <QueryState query={jobs}>
        {(list) => {
          const ran = list.filter((j) => j.lastRunUtc).sort((a, b) => b.lastRunUtc!.localeCompare(a.lastRunUtc!));
          return ran.length === 0 ? (
            <EmptyState title="No backups have run yet.">
              <p>
                <Link href="/jobs/new">Create a backup job</Link> and run it.
              </p>
            </EmptyState>
          ) : (
            <ul className="plain">
              {ran.slice(0, 5).map((job) => (
                <li key={job.backupJobId}>
                  <StatusBadge status={job.lastStatus} /> <Link href={`/jobs/${job.backupJobId}`}>{job.name}</Link> {formatTime(job.lastRunUtc)}
                </li>
              ))}
            </ul>
          );
        }}
      </QueryState>
    </section>
  );
}

/** The next run of every schedule of the enabled jobs, soonest first. */
function nextScheduledRuns(jobs: BackupJobSummary[], limit: number) {
  return jobs
    .filter((j) => j.isEnabled)
    .flatMap((job) =>
      job.schedules.flatMap((s) => {
        const runs = nextRuns(s.cronExpression, 1);
        return typeof runs === "string" ? [] : [{ job, at: runs[0], mode: s.backupMode }];
      }),
    )
    .sort((a, b) => a.at.getTime() - b.at.getTime())
    .slice(0, limit);
}

function NextRunsCard() {
  const jobs = useJobs();
  return (
    <section className="card" aria-labelledby="next-heading">
      <h2 id="next-heading">Next scheduled runs</h2>
      <QueryState query={jobs}>
        {(list) => {
          const upcoming = nextScheduledRuns(list, 5);
          return upcoming.length === 0 ? (
            <p className="muted">Nothing scheduled. Jobs without a schedule run when you press “Run now”.</p>
          ) : (
            <ul className="plain">
              {upcoming.map(({ job, at, mode }) => (
                <li key={`${job.backupJobId}-${mode}-${at.getTime()}`}>
                  <time dateTime={at.toISOString()}>{formatRun(at)}</time>: <Link href={`/jobs/${job.backupJobId}`}>{job.name}</Link> ({mode})
                </li>
              ))}
            </ul>
          );
        }}
      </QueryState>
    </section>
  );
}

export function OverviewPage() {
  return (
    <>
      <h1>Overview</h1>
      <div className="grid">
        <AgentsOnlineCard />
        <LastRunsCard />
        <Problems />
        <NextRunsCard />
      </div>
    </>
  );
}
