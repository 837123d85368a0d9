import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";
import { Link, useLocation } from "wouter";
import { api, post, put } from "../api/client";
import type { BackupJob, BackupJobCreated, BackupMode, Database, Destination, Schedule } from "../api/types";
import { CronHelper } from "../components/CronHelper";
import { EmptyState, ErrorMessage, Field, QueryState, SelectField } from "../components/ui";
import { useAgents } from "./Agents";

const MODES: BackupMode[] = ["Full", "Differential", "TransactionLog"];

function Checkboxes<T>({ legend, items, id, label, selected, onChange }: { legend: string; items: T[]; id: (item: T) => string; label: (item: T) => string; selected: string[]; onChange: (ids: string[]) => void }) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {items.map((item) => (
        <label key={id(item)} className="check">
          <input
            type="checkbox"
            checked={selected.includes(id(item))}
            onChange={(e) => onChange(e.target.checked ? [...selected, id(item)] : selected.filter((x) => x !== id(item)))}
          />{" "}
          {label(item)}
        </label>
      ))}
    </fieldset>
  );
}

function ScheduleRow({ schedule, index, onChange, onRemove }: { schedule: Schedule; index: number; onChange: (s: Schedule) => void; onRemove: () => void }) {
  const helperId = useId();
  return (
    <fieldset className="schedule">
      <legend>Schedule {index + 1}</legend>
      <SelectField label="Backup mode" value={schedule.backupMode} onChange={(e) => onChange({ ...schedule, backupMode: e.target.value as BackupMode })}>
        {MODES.map((m) => (
          <option key={m}>{m}</option>
        ))}
      </SelectField>
      <Field label="Cron expression" value={schedule.cronExpression} onChange={(e) => onChange({ ...schedule, cronExpression: e.target.value })} aria-describedby={helperId} required spellCheck={false} />
      <CronHelper expression={schedule.cronExpression} id={helperId} />
      <button type="button" className="secondary" onClick={onRemove}>
        Remove schedule {index + 1}
      </button>
    </fieldset>
  );
}

interface Draft {
  name: string;
  agentId: string;
  databaseIds: string[];
  destinationIds: string[];
  schedules: Schedule[];
  retentionDays: number;
  encryption: boolean;
  passphrase: string;
}

const EMPTY: Draft = { name: "", agentId: "", databaseIds: [], destinationIds: [], schedules: [{ backupMode: "Full", cronExpression: "0 2 * * *" }], retentionDays: 30, encryption: false, passphrase: "" };

/** Create (no id) or edit a backup job: pickers for the agent's discovered databases and the destinations. */
export function BackupJobFormPage({ backupJobId }: { backupJobId?: string }) {
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const existing = useQuery({ queryKey: ["job", backupJobId], queryFn: () => api<BackupJob>(`/api/backupjob/${backupJobId}`), enabled: Boolean(backupJobId) });
  const agents = useAgents();
  const destinations = useQuery({ queryKey: ["destinations"], queryFn: () => api<Destination[]>("/api/destination") });
  const databases = useQuery({
    queryKey: ["databases", draft.agentId],
    queryFn: () => api<Database[]>(`/api/database?agentId=${encodeURIComponent(draft.agentId)}`),
    enabled: Boolean(draft.agentId),
  });

  useEffect(() => {
    const job = existing.data;
    if (job)
      setDraft({
        name: job.name,
        agentId: job.agentId ?? "",
        databaseIds: job.databases.map((d) => d.databaseId),
        destinationIds: job.destinations.map((d) => d.destinationId),
        schedules: job.schedules,
        retentionDays: job.retentionDays,
        encryption: job.encryption.enabled,
        passphrase: "",
      });
  }, [existing.data]);
  useEffect(() => {
    const only = agents.data?.length === 1 ? agents.data[0] : undefined;
    if (!backupJobId && !draft.agentId && only) setDraft((d) => ({ ...d, agentId: only.agentId }));
  }, [agents.data, backupJobId, draft.agentId]);

  const save = useMutation({
    mutationFn: () => {
      const body = {
        name: draft.name,
        agentId: draft.agentId,
        databaseIds: draft.databaseIds,
        destinationIds: draft.destinationIds,
        schedules: draft.schedules,
        retentionDays: draft.retentionDays,
        encryption: draft.encryption ? { enabled: true, ...(draft.passphrase ? { passphrase: draft.passphrase } : {}) } : { enabled: false },
      };
      return backupJobId ? put<BackupJob>(`/api/backupjob/${backupJobId}`, body) : post<BackupJobCreated>("/api/backupjob", body);
    },
    onSuccess: (job) => {
      queryClient.invalidateQueries({ queryKey: ["jobs"] });
      queryClient.invalidateQueries({ queryKey: ["job", job.backupJobId] });
      navigate(`/jobs/${job.backupJobId}`);
    },
  });
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  if (backupJobId && existing.isPending) return <QueryState query={existing}>{() => null}</QueryState>;
  return (
    <>
      <p>
        <Link href={backupJobId ? `/jobs/${backupJobId}` : "/jobs"}>← Back</Link>
      </p>
      <h1>{backupJobId ? `Edit ${existing.data?.name ?? "backup job"}` : "New backup job"}</h1>
      <form
        className="card"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Field label="Name" value={draft.name} onChange={(e) => set({ name: e.target.value })} required maxLength={200} />
        <QueryState query={agents}>
          {(list) =>
            list.length === 0 ? (
              <EmptyState title="No agents yet.">
                <p>
                  <Link href="/agents">Install an agent</Link> first: a job backs up databases an agent found.
                </p>
              </EmptyState>
            ) : (
              <SelectField label="Agent" value={draft.agentId} onChange={(e) => set({ agentId: e.target.value, databaseIds: [] })} required>
                <option value="">Choose an agent</option>
                {list.map((a) => (
                  <option key={a.agentId} value={a.agentId}>
                    {a.displayName ?? a.hostname} {a.isOnline ? "(online)" : "(offline)"}
                  </option>
                ))}
              </SelectField>
            )
          }
        </QueryState>
        {draft.agentId &&
          (databases.isPending ? (
            <p role="status">Loading databases…</p>
          ) : databases.data?.length ? (
            <Checkboxes legend="Databases" items={databases.data} id={(d) => d.databaseId} label={(d) => `${d.name} (${d.dbmsType})`} selected={draft.databaseIds} onChange={(ids) => set({ databaseIds: ids })} />
          ) : (
            <p className="muted">This agent has not reported any databases yet.</p>
          ))}
        <QueryState query={destinations}>
          {(list) =>
            list.length === 0 ? (
              <EmptyState title="No destinations yet.">
                <p>
                  <Link href="/destinations">Add a destination</Link> where the agent writes the backups.
                </p>
              </EmptyState>
            ) : (
              <Checkboxes legend="Destinations" items={list} id={(d) => d.destinationId} label={(d) => `${d.name} (${d.type})`} selected={draft.destinationIds} onChange={(ids) => set({ destinationIds: ids })} />
            )
          }
        </QueryState>
        <h2>Schedules</h2>
        {draft.schedules.length === 0 && <p className="muted">No schedule: the job runs only when you run it.</p>}
        {draft.schedules.map((schedule, index) => (
          <ScheduleRow
            // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity of their own
            key={index}
            schedule={schedule}
            index={index}
            onChange={(s) => set({ schedules: draft.schedules.map((x, i) => (i === index ? s : x)) })}
            onRemove={() => set({ schedules: draft.schedules.filter((_, i) => i !== index) })}
          />
        ))}
        <button type="button" className="secondary" onClick={() => set({ schedules: [...draft.schedules, { backupMode: "Full", cronExpression: "0 2 * * *" }] })}>
          Add schedule
        </button>
        <Field label="Retention days" type="number" min={1} max={3650} value={draft.retentionDays} onChange={(e) => set({ retentionDays: Number(e.target.value) })} required />
        <label className="check">
          <input type="checkbox" checked={draft.encryption} onChange={(e) => set({ encryption: e.target.checked })} /> Encrypt backups (AES-256)
        </label>
        {draft.encryption && (
          <Field
            label="Encryption passphrase"
            type="password"
            autoComplete="new-password"
            minLength={12}
            value={draft.passphrase}
            onChange={(e) => set({ passphrase: e.target.value })}
            required={!existing.data?.encryption.enabled}
            hint={existing.data?.encryption.enabled ? "Leave empty to keep the current passphrase." : "At least 12 characters. Keep it safe: restores need it."}
          />
        )}
        <ErrorMessage error={save.error} />
        <button type="submit" disabled={save.isPending}>
          {backupJobId ? "Save backup job" : "Create backup job"}
        </button>
      </form>
    </>
  );
}
