import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { apiPage, post } from "../api/client";
import { formatCount, pollWhileUnfinished } from "../api/polling";
import type { BackupJob, Verification, VerificationQueued } from "../api/types";
import { DataTable, EmptyState, ErrorMessage, PAGE_SIZE, Pager, QueryState, StatusBadge, formatDuration, formatTime } from "../components/ui";

/**
 * A job's verification drills: "Verify now" restores its newest backup into a scratch database on its
 * agent, counts it and drops it; the list is the evidence, polled while a drill is unfinished.
 */
export function Verifications({ job }: { job: BackupJob }) {
  const { backupJobId } = job;
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const verifications = useQuery({
    queryKey: ["verifications", backupJobId, page],
    queryFn: () => apiPage<Verification>(`/api/backupjob/${backupJobId}/verifications`, { page, pageSize: PAGE_SIZE }),
    placeholderData: (previous) => previous,
    refetchInterval: (query) => pollWhileUnfinished(query.state.data?.items, (v) => v.verificationId),
  });
  const verify = useMutation({
    mutationFn: () => post<VerificationQueued>(`/api/backupjob/${backupJobId}/verify`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["verifications", backupJobId] }),
  });
  return (
    <section aria-labelledby="verifications-heading">
      <h2 id="verifications-heading">Verifications</h2>
      <p className="muted">A drill restores the job's newest backup into a scratch database on its agent, checks the checksum and the table and row counts, then drops the scratch database.</p>
      <div className="actions">
        <button type="button" disabled={verify.isPending || !job.agentId} onClick={() => verify.mutate()}>
          Verify now
        </button>
        {verify.isSuccess && (
          <p role="status" className="success">
            {verify.data.message}
          </p>
        )}
      </div>
      <ErrorMessage error={verify.error} />
      <QueryState query={verifications} loading="Loading verifications…">
        {({ items, total }) =>
          total === 0 ? (
            <EmptyState title="No verifications yet.">
              <p>Press “Verify now”, or schedule drills in the job's settings.</p>
            </EmptyState>
          ) : (
            <>
              <DataTable
                rows={items}
                rowKey={(v) => v.verificationId}
                columns={[
                  { header: "Status", cell: (v) => <StatusBadge status={v.status} /> },
                  { header: "Tables", cell: (v) => formatCount(v.tables) },
                  { header: "Rows", cell: (v) => formatCount(v.rows) },
                  { header: "Duration", cell: (v) => formatDuration(v.durationMs) },
                  { header: "Started", cell: (v) => formatTime(v.startedUtc) },
                  { header: "Finished", cell: (v) => formatTime(v.finishedUtc) },
                  { header: "Error", cell: (v) => v.error ?? "" },
                ]}
              />
              <Pager page={page} total={total} onPage={setPage} label="Verifications" />
            </>
          )
        }
      </QueryState>
    </section>
  );
}
