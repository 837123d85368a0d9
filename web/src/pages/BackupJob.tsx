import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Suspense, lazy, useState } from "react";
import { Link, useLocation } from "wouter";
import { api, apiPage, del, post, put } from "../api/client";
import { progressKey } from "../api/live";
import type { BackupJob, BackupMode, BackupRun, BackupTriggered, Schedule } from "../api/types";
import { formatRun, nextRuns } from "../components/CronHelper";
import { Verifications } from "./Verifications";
import { DataTable, EmptyState, ErrorMessage, Loading, PAGE_SIZE, Pager, QueryState, SelectField, StatusBadge, formatBytes, formatDuration, formatTime } from "../components/ui";

// uPlot is loaded only on a job's page: it stays out of the first load.
const RunChart = lazy(() => import("../components/RunChart"));

function RunProgress({ run }: { run: BackupRun }) {
  const bytes = useQuery({ queryKey: progressKey(run.backupRunId), queryFn: () => null as number | null, enabled: false });
  if (run.status !== "Running" && run.status !== "Queued") return <StatusBadge status={run.status} />;
  return (
    <span className="badge neutral">
      {run.status}
      {bytes.data ? ` · ${formatBytes(bytes.data)} done` : ""}
    </span>
  );
}

function History({ backupJobId }: { backupJobId: string }) {
  const [page, setPage] = useState(1);
  const history = useQuery({
    queryKey: ["history", backupJobId, page],
    queryFn: () => apiPage<BackupRun>(`/api/backupjob/${backupJobId}/history`, { page, pageSize: PAGE_SIZE }),
    placeholderData: (previous) => previous,
  });
  return (
    <section aria-labelledby="history-heading">
      <h2 id="history-heading">Run history</h2>
      <QueryState query={history}>
        {({ items, total }) =>
          total === 0 ? (
            <EmptyState title="No runs yet.">
              <p>Press “Run now” to take the first backup, or wait for the schedule.</p>
            </EmptyState>
          ) : (
            <>
              <DataTable
                rows={items}
                rowKey={(run) => run.backupRunId}
                columns={[
                  { header: "Status", cell: (run) => <RunProgress run={run} /> },
                  { header: "Mode", cell: (run) => run.backupMode },
                  { header: "Trigger", cell: (run) => run.trigger },
                  { header: "Started", cell: (run) => formatTime(run.startedUtc) },
                  { header: "Duration", cell: (run) => formatDuration(run.durationMs) },
                  { header: "Size", cell: (run) => formatBytes(run.totalSize) },
                  { header: "Error", cell: (run) => run.error ?? "" },
                ]}
              />
              <Pager page={page} total={total} onPage={setPage} label="Run history" />
              <Suspense fallback={<Loading what="Loading chart…" />}>
                <RunChart runs={items} />
              </Suspense>
            </>
          )
        }
      </QueryState>
    </section>
  );
}

function RunNow({ job }: { job: BackupJob }) {
  const queryClient = useQueryClient();
  const [mode, setMode] = useState<BackupMode>("Full");
  const run = useMutation({
    mutationFn: () => post<BackupTriggered>(`/api/backupjob/${job.backupJobId}/run`, { backupMode: mode }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["history", job.backupJobId] }),
  });
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        run.mutate();
      }}
    >
      <SelectField label="Mode" value={mode} onChange={(e) => setMode(e.target.value as BackupMode)}>
        <option>Full</option>
        <option>Differential</option>
        <option>TransactionLog</option>
      </SelectField>
      <button type="submit" disabled={run.isPending || !job.isEnabled}>
        Run now
      </button>
      {run.isSuccess && (
        <p role="status" className="success">
          {run.data.message}
        </p>
      )}
      <ErrorMessage error={run.error} />
    </form>
  );
}

/** The next few runs across all of a job's schedules, soonest first. */
function upcomingRuns(schedules: Schedule[], limit: number) {
  return schedules
    .flatMap((s) => {
      const runs = nextRuns(s.cronExpression, limit);
      return typeof runs === "string" ? [] : runs.map((at) => ({ at, mode: s.backupMode }));
    })
    .sort((a, b) => a.at.getTime() - b.at.getTime())
    .slice(0, limit);
}

function JobFacts({ job }: { job: BackupJob }) {
  const upcoming = upcomingRuns(job.schedules, 3);
  return (
    <dl className="facts">
      <dt>Status</dt>
      <dd>{job.isEnabled ? "Enabled" : job.agentId ? "Disabled" : "Disabled: its agent was deleted"}</dd>
      <dt>Databases</dt>
      <dd>{job.databases.map((d) => `${d.name} (${d.dbmsType})`).join(", ")}</dd>
      <dt>Destinations</dt>
      <dd>{job.destinations.map((d) => `${d.name} (${d.type})`).join(", ")}</dd>
      <dt>Schedules</dt>
      <dd>{job.schedules.length ? job.schedules.map((s) => `${s.backupMode}: ${s.cronExpression} (UTC)`).join("; ") : "Manual only"}</dd>
      <dt>Next runs</dt>
      <dd>{upcoming.length ? upcoming.map((u) => `${formatRun(u.at)} (${u.mode})`).join("; ") : "—"}</dd>
      <dt>Verification drills</dt>
      <dd>{job.verification?.enabled ? `${job.verification.cronExpression} (UTC)` : "On demand only"}</dd>
      <dt>Retention</dt>
      <dd>{job.retentionDays} days</dd>
      <dt>Encryption</dt>
      <dd>{job.encryption.enabled ? job.encryption.algorithm : "Off"}</dd>
    </dl>
  );
}

/** Enable, disable or delete the job. */
function JobSettings({ job }: { job: BackupJob }) {
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const { backupJobId } = job;
  const toggle = useMutation({
    mutationFn: (isEnabled: boolean) => put<BackupJob>(`/api/backupjob/${backupJobId}`, { isEnabled }),
    onSuccess: (updated) => {
      queryClient.setQueryData(["job", backupJobId], updated);
      queryClient.invalidateQueries({ queryKey: ["jobs"] });
    },
  });
  const remove = useMutation({
    mutationFn: () => del(`/api/backupjob/${backupJobId}`),
    onSuccess: () => {
      queryClient.invalidateQueries({ queryKey: ["jobs"] });
      navigate("/jobs");
    },
  });
  return (
    <>
      <h2>Settings</h2>
      <ErrorMessage error={toggle.error ?? remove.error} />
      <div className="actions">
        {job.agentId && (
          <button type="button" className="secondary" onClick={() => toggle.mutate(!job.isEnabled)}>
            {job.isEnabled ? "Disable job" : "Enable job"}
          </button>
        )}
        <button type="button" className="danger" onClick={() => confirm(`Delete the backup job ${job.name}? Its history and files stay.`) && remove.mutate()}>
          Delete job
        </button>
      </div>
    </>
  );
}

export function BackupJobPage({ backupJobId }: { backupJobId: string }) {
  const job = useQuery({ queryKey: ["job", backupJobId], queryFn: () => api<BackupJob>(`/api/backupjob/${backupJobId}`) });
  return (
    <QueryState query={job}>
      {(data) => (
        <>
          <p>
            <Link href="/jobs">← Backup jobs</Link>
          </p>
          <div className="page-head">
            <h1>{data.name}</h1>
            <Link href={`/jobs/${backupJobId}/edit`} className="button secondary">
              Edit
            </Link>
          </div>
          <JobFacts job={data} />
          <RunNow job={data} />
          <History backupJobId={backupJobId} />
          <Verifications job={data} />
          <p>
            <Link href={`/files?backupJobId=${backupJobId}`}>This job's backup files</Link>
          </p>
          <JobSettings job={data} />
        </>
      )}
    </QueryState>
  );
}
