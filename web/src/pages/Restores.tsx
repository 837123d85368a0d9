import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";
import { api, apiPage, post } from "../api/client";
import { formatCount, isUnfinished, pollWhileUnfinished } from "../api/polling";
import type { Agent, BackupFile, CreateRestore, Restore, RestoreQueued } from "../api/types";
import { DataTable, EmptyState, ErrorMessage, Field, PAGE_SIZE, Pager, QueryState, StatusBadge, formatBytes, formatTime } from "../components/ui";
import { AgentSelect, agentName, useAgents } from "./Agents";

const agentOf = (agents: Agent[] | undefined, agentId: string) => {
  const agent = agents?.find((a) => a.agentId === agentId);
  return agent ? agentName(agent) : agentId.slice(0, 8);
};

/** One restore's status, polled while it is queued or running; its outcome refreshes the Restores list. */
function RestoreProgress({ restoreId }: { restoreId: string }) {
  const queryClient = useQueryClient();
  const restore = useQuery({
    queryKey: ["restore", restoreId],
    queryFn: () => api<Restore>(`/api/restore/${restoreId}`),
    refetchInterval: (query) => pollWhileUnfinished(query.state.data && [query.state.data], (r) => r.restoreId),
  });
  const status = restore.data?.status;
  useEffect(() => {
    if (status) queryClient.invalidateQueries({ queryKey: ["restores"] });
  }, [status, queryClient]);
  if (!restore.data) return <ErrorMessage error={restore.error} />;
  const r = restore.data;
  return (
    <dl className="facts">
      <dt>Status</dt>
      <dd>
        <StatusBadge status={r.status} />
      </dd>
      <dt>Restored</dt>
      <dd>{formatBytes(r.bytesDone)}</dd>
      {!isUnfinished(r.status) && r.tables !== null && (
        <>
          <dt>Tables</dt>
          <dd>{formatCount(r.tables)}</dd>
          <dt>Rows</dt>
          <dd>{formatCount(r.rows)}</dd>
        </>
      )}
      {r.error && (
        <>
          <dt>Error</dt>
          <dd className="error">{r.error}</dd>
        </>
      )}
    </dl>
  );
}

function RestoreForm({ file, onQueued }: { file: BackupFile; onQueued: (restoreId: string) => void }) {
  const warningId = useId();
  const [draft, setDraft] = useState({ targetDatabaseName: "", agentId: "", overwrite: false });
  const start = useMutation({
    mutationFn: () => {
      const body: CreateRestore = { targetDatabaseName: draft.targetDatabaseName, overwrite: draft.overwrite, ...(draft.agentId ? { agentId: draft.agentId } : {}) };
      return post<RestoreQueued>(`/api/backupfile/${file.backupFileId}/restore`, body);
    },
    onSuccess: (queued) => onQueued(queued.restoreId),
  });
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        start.mutate();
      }}
    >
      <Field
        label="Target database name"
        value={draft.targetDatabaseName}
        onChange={(e) => setDraft({ ...draft, targetDatabaseName: e.target.value })}
        required
        pattern="[A-Za-z_][A-Za-z0-9_]{0,62}"
        maxLength={63}
        autoComplete="off"
        spellCheck={false}
        hint="Letters, digits and underscores, not starting with a digit. A SQLite restore becomes <name>.sqlite beside the engine's database files."
      />
      <AgentSelect label="Agent" none="The agent that made this backup" value={draft.agentId} onChange={(e) => setDraft({ ...draft, agentId: e.target.value })} />
      <label className="check">
        <input type="checkbox" checked={draft.overwrite} onChange={(e) => setDraft({ ...draft, overwrite: e.target.checked })} aria-describedby={warningId} /> Overwrite an existing database
      </label>
      <p id={warningId} className={draft.overwrite ? "error" : "muted"}>
        {draft.overwrite
          ? "Warning: a database of that name is dropped and replaced. Its current data is lost."
          : "Off: if a database of that name exists, the restore fails and leaves it untouched."}
      </p>
      <ErrorMessage error={start.error} />
      <button type="submit" disabled={start.isPending}>
        Start restore
      </button>
    </form>
  );
}

/**
 * The modal restore form of one file (a native <dialog>: focus moves in, Escape closes, focus returns
 * to the row's button); once queued it shows the restore's status until closed.
 */
export function RestoreDialog({ file, onClose }: { file: BackupFile; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const headingId = useId();
  const [restoreId, setRestoreId] = useState<string | null>(null);
  useEffect(() => {
    if (!ref.current?.open) ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={headingId} onClose={onClose}>
      <h2 id={headingId}>Restore {file.fileName}</h2>
      {restoreId ? (
        <>
          <p role="status" className="success">
            Restore queued.
          </p>
          <RestoreProgress restoreId={restoreId} />
        </>
      ) : (
        <RestoreForm file={file} onQueued={setRestoreId} />
      )}
      <div className="actions">
        <button type="button" className="secondary" onClick={() => ref.current?.close()}>
          Close
        </button>
      </div>
    </dialog>
  );
}

/** Every restore, newest first; polls while one on the page is unfinished (unless `paused`: a dialog is watching it). */
export function RestoresSection({ files, paused }: { files: BackupFile[]; paused: boolean }) {
  const [page, setPage] = useState(1);
  const agents = useAgents();
  const restores = useQuery({
    queryKey: ["restores", page],
    queryFn: () => apiPage<Restore>("/api/restore", { page, pageSize: PAGE_SIZE }),
    placeholderData: (previous) => previous,
    refetchInterval: (query) => !paused && pollWhileUnfinished(query.state.data?.items, (r) => r.restoreId),
  });
  const fileName = (id: string) => files.find((f) => f.backupFileId === id)?.fileName ?? id.slice(0, 8);
  return (
    <section aria-labelledby="restores-heading">
      <h2 id="restores-heading">Restores</h2>
      <p className="muted">
        The agent fetches the file (and the chain it builds on) from its destination, checks the checksum, decrypts and restores, then counts tables and rows. Without the platform, on a machine
        with the files: <code>datasync-agent restore --file PATH --checksum CHECKSUM --to TARGET</code>.
      </p>
      <QueryState query={restores} loading="Loading restores…">
        {({ items, total }) =>
          total === 0 ? (
            <EmptyState title="No restores yet.">
              <p>Press “Restore” beside a backup file to restore it into a database on an agent.</p>
            </EmptyState>
          ) : (
            <>
              <DataTable
                rows={items}
                rowKey={(r) => r.restoreId}
                columns={[
                  { header: "Status", cell: (r) => <StatusBadge status={r.status} /> },
                  { header: "Target", className: "break", cell: (r) => r.targetDatabaseName },
                  { header: "Backup file", className: "break", cell: (r) => fileName(r.backupFileId) },
                  { header: "Agent", cell: (r) => agentOf(agents.data, r.agentId) },
                  { header: "Restored", cell: (r) => formatBytes(r.bytesDone) },
                  { header: "Tables", cell: (r) => formatCount(r.tables) },
                  { header: "Rows", cell: (r) => formatCount(r.rows) },
                  { header: "Started", cell: (r) => formatTime(r.startedUtc) },
                  { header: "Finished", cell: (r) => formatTime(r.finishedUtc) },
                  { header: "Error", cell: (r) => r.error ?? "" },
                ]}
              />
              <Pager page={page} total={total} onPage={setPage} label="Restores" />
            </>
          )
        }
      </QueryState>
    </section>
  );
}
