import { useQuery } from "@tanstack/react-query";
import { Link } from "wouter";
import { api } from "../api/client";
import type { BackupJobSummary } from "../api/types";
import { DataTable, EmptyState, Pager, QueryState, StatusBadge, formatTime, useClientPage } from "../components/ui";

export const useJobs = () => useQuery({ queryKey: ["jobs"], queryFn: () => api<BackupJobSummary[]>("/api/backupjob") });

export function BackupJobsPage() {
  const jobs = useJobs();
  const { page, setPage, total, pageItems } = useClientPage(jobs.data);
  return (
    <>
      <div className="page-head">
        <h1>Backup jobs</h1>
        <Link href="/jobs/new" className="button">
          New backup job
        </Link>
      </div>
      <QueryState query={jobs}>
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No backup jobs yet.">
              <p>
                A job backs up databases an agent found to your destinations, on a schedule or when you run it. <Link href="/jobs/new">Create your first backup job</Link>{" "}
                (you need a connected <Link href="/agents">agent</Link> and a <Link href="/destinations">destination</Link>).
              </p>
            </EmptyState>
          ) : (
            <DataTable
              rows={pageItems}
              rowKey={(job) => job.backupJobId}
              columns={[
                { header: "Job", cell: (job) => <Link href={`/jobs/${job.backupJobId}`}>{job.name}</Link> },
                { header: "Last result", cell: (job) => <StatusBadge status={job.lastStatus} /> },
                { header: "Last run", cell: (job) => formatTime(job.lastRunUtc) },
                { header: "Schedules", cell: (job) => (job.schedules.length ? job.schedules.map((s) => `${s.backupMode} ${s.cronExpression}`).join("; ") : "Manual only") },
                { header: "Enabled", cell: (job) => (job.isEnabled ? "Yes" : job.agentId ? "No" : "No (agent deleted)") },
              ]}
            />
          )
        }
      </QueryState>
      <Pager page={page} total={total} onPage={setPage} label="Backup jobs" />
    </>
  );
}
