import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useSearch } from "wouter";
import { apiPage } from "../api/client";
import type { BackupFile } from "../api/types";
import { DataTable, EmptyState, Field, PAGE_SIZE, Pager, QueryState, SelectField, dayBound, formatBytes, formatTime } from "../components/ui";
import { useJobs } from "./BackupJobs";
import { RestoreDialog, RestoresSection } from "./Restores";

export function BackupFilesPage() {
  const [filters, setFilters] = useState({ backupJobId: new URLSearchParams(useSearch()).get("backupJobId") ?? "", from: "", to: "" });
  const [page, setPage] = useState(1);
  const [restoring, setRestoring] = useState<BackupFile | null>(null);
  const jobs = useJobs();
  const files = useQuery({
    queryKey: ["files", filters, page],
    queryFn: () => apiPage<BackupFile>("/api/backupfile", { ...filters, from: dayBound(filters.from, false), to: dayBound(filters.to, true), page, pageSize: PAGE_SIZE }),
    placeholderData: (previous) => previous,
  });
  const jobName = (id: string) => jobs.data?.find((j) => j.backupJobId === id)?.name ?? id.slice(0, 8);
  const setFilter = (patch: Partial<typeof filters>) => {
    setFilters((f) => ({ ...f, ...patch }));
    setPage(1);
  };
  return (
    <>
      <h1>Backup files</h1>
      <form className="filters" aria-label="Filter backup files" onSubmit={(e) => e.preventDefault()}>
        <SelectField label="Backup job" value={filters.backupJobId} onChange={(e) => setFilter({ backupJobId: e.target.value })}>
          <option value="">All jobs</option>
          {jobs.data?.map((j) => (
            <option key={j.backupJobId} value={j.backupJobId}>
              {j.name}
            </option>
          ))}
        </SelectField>
        <Field label="From" type="date" value={filters.from} onChange={(e) => setFilter({ from: e.target.value })} />
        <Field label="To" type="date" value={filters.to} onChange={(e) => setFilter({ to: e.target.value })} />
      </form>
      <QueryState query={files}>
        {({ items, total }) =>
          total === 0 ? (
            <EmptyState title={filters.backupJobId || filters.from || filters.to ? "No backup files match these filters." : "No backup files yet."}>
              <p>Files appear here when a backup run succeeds. Run a backup job to make the first one.</p>
            </EmptyState>
          ) : (
            <>
              <DataTable
                rows={items}
                rowKey={(f) => f.backupFileId}
                columns={[
                  { header: "File", className: "break", cell: (f) => f.fileName },
                  { header: "Job", cell: (f) => jobName(f.backupJobId) },
                  { header: "Size", cell: (f) => formatBytes(f.fileSize) },
                  { header: "Created", cell: (f) => formatTime(f.dateCreated) },
                  { header: "Checksum", cell: (f) => <code title={f.checksum}>{f.checksum.slice(0, 19)}…</code> },
                  {
                    header: "Actions",
                    hiddenHeader: true,
                    cell: (f) => (
                      <button type="button" className="secondary small" aria-label={`Restore ${f.fileName}`} onClick={() => setRestoring(f)}>
                        Restore
                      </button>
                    ),
                  },
                ]}
              />
              <Pager page={page} total={total} onPage={setPage} label="Backup files" />
            </>
          )
        }
      </QueryState>
      {restoring && <RestoreDialog file={restoring} onClose={() => setRestoring(null)} />}
      <RestoresSection files={files.data?.items ?? []} paused={restoring !== null} />
    </>
  );
}
