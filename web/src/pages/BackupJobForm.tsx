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
  verification: { enabled: boolean; cronExpression: string };
}

const NEW_SCHEDULE: Schedule = { backupMode: "Full", cronExpression: "0 2 * * *" };
const NO_DRILLS = { enabled: false, cronExpression: "0 4 * * 0" };
const EMPTY: Draft = { name: "", agentId: "", databaseIds: [], destinationIds: [], schedules: [NEW_SCHEDULE], retentionDays: 30, encryption: false, passphrase: "", verification: NO_DRILLS };

type SetDraft = (patch: Partial<Draft>) => void;

function draftOf(job: BackupJob): Draft {
  return {
    name: job.name,
    agentId: job.agentId ?? "",
    databaseIds: job.databases.map((d) => d.databaseId),
    destinationIds: job.destinations.map((d) => d.destinationId),
    schedules: job.schedules,
    retentionDays: job.retentionDays,
    encryption: job.encryption.enabled,
    passphrase: "",
    verification: job.verification ?? NO_DRILLS,
  };
}

/** The request body; an empty passphrase on an encrypted job keeps the current one. */
function bodyOf(draft: Draft) {
  return {
    name: draft.name,
    agentId: draft.agentId,
    databaseIds: draft.databaseIds,
    destinationIds: draft.destinationIds,
    schedules: draft.schedules,
    retentionDays: draft.retentionDays,
    encryption: draft.encryption ? { enabled: true, ...(draft.passphrase ? { passphrase: draft.passphrase } : {}) } : { enabled: false },
    // Turned off, no schedule is kept: a half-typed cron expression must not block saving the job.
    verification: draft.verification.enabled ? draft.verification : null,
  };
}

/** The form's draft: loaded from the job being edited, or new with the only agent preselected; saving opens the job. */
function useBackupJobDraft(backupJobId: string | undefined) {
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const existing = useQuery({ queryKey: ["job", backupJobId], queryFn: () => api<BackupJob>(`/api/backupjob/${backupJobId}`), enabled: Boolean(backupJobId) });
  const agents = useAgents();

  useEffect(() => {
    if (existing.data) setDraft(draftOf(existing.data));
  }, [existing.data]);
  useEffect(() => {
    const only = agents.data?.length === 1 ? agents.data[0] : undefined;
    if (!backupJobId && !draft.agentId && only) setDraft((d) => ({ ...d, agentId: only.agentId }));
  }, [agents.data, backupJobId, draft.agentId]);

  const save = useMutation({
    mutationFn: () => (backupJobId ? put<BackupJob>(`/api/backupjob/${backupJobId}`, bodyOf(draft)) : post<BackupJobCreated>("/api/backupjob", bodyOf(draft))),
    onSuccess: (job) => {
      queryClient.invalidateQueries({ queryKey: ["jobs"] });
      queryClient.invalidateQueries({ queryKey: ["job", job.backupJobId] });
      navigate(`/jobs/${job.backupJobId}`);
    },
  });
  const set: SetDraft = (patch) => setDraft((d) => ({ ...d, ...patch }));
  return { draft, set, existing, agents, save };
}

function AgentPicker({ agents, draft, set }: { agents: ReturnType<typeof useAgents>; draft: Draft; set: SetDraft }) {
  return (
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
  );
}

/** The databases the chosen agent discovered; nothing until an agent is chosen. */
function DatabasePicker({ draft, set }: { draft: Draft; set: SetDraft }) {
  const databases = useQuery({
    queryKey: ["databases", draft.agentId],
    queryFn: () => api<Database[]>(`/api/database?agentId=${encodeURIComponent(draft.agentId)}`),
    enabled: Boolean(draft.agentId),
  });
  if (!draft.agentId) return null;
  if (databases.isPending) return <p role="status">Loading databases…</p>;
  if (!databases.data?.length) return <p className="muted">This agent has not reported any databases yet.</p>;
  return <Checkboxes legend="Databases" items={databases.data} id={(d) => d.databaseId} label={(d) => `${d.name} (${d.dbmsType})`} selected={draft.databaseIds} onChange={(ids) => set({ databaseIds: ids })} />;
}

function DestinationPicker({ draft, set }: { draft: Draft; set: SetDraft }) {
  const destinations = useQuery({ queryKey: ["destinations"], queryFn: () => api<Destination[]>("/api/destination") });
  return (
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
  );
}

function SchedulesSection({ schedules, set }: { schedules: Schedule[]; set: SetDraft }) {
  return (
    <>
      <h2>Schedules</h2>
      {schedules.length === 0 && <p className="muted">No schedule: the job runs only when you run it.</p>}
      {schedules.map((schedule, index) => (
        <ScheduleRow
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity of their own
          key={index}
          schedule={schedule}
          index={index}
          onChange={(s) => set({ schedules: schedules.map((x, i) => (i === index ? s : x)) })}
          onRemove={() => set({ schedules: schedules.filter((_, i) => i !== index) })}
        />
      ))}
      <button type="button" className="secondary" onClick={() => set({ schedules: [...schedules, NEW_SCHEDULE] })}>
        Add schedule
      </button>
    </>
  );
}

/** Scheduled verification drills: the platform queues one at each time of the cron (UTC). */
function VerificationSection({ verification, set }: { verification: Draft["verification"]; set: SetDraft }) {
  const helperId = useId();
  return (
    <fieldset>
      <legend>Verification drills</legend>
      <label className="check">
        <input type="checkbox" checked={verification.enabled} onChange={(e) => set({ verification: { ...verification, enabled: e.target.checked } })} /> Verify the newest backup on a schedule
      </label>
      {verification.enabled && (
        <>
          <Field
            label="Verification cron expression"
            value={verification.cronExpression}
            onChange={(e) => set({ verification: { ...verification, cronExpression: e.target.value } })}
            aria-describedby={helperId}
            required
            spellCheck={false}
          />
          <CronHelper expression={verification.cronExpression} id={helperId} />
        </>
      )}
    </fieldset>
  );
}

/** A job already encrypted keeps its passphrase unless a new one is typed. */
function EncryptionSection({ draft, set, alreadyEncrypted }: { draft: Draft; set: SetDraft; alreadyEncrypted: boolean }) {
  return (
    <>
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
          required={!alreadyEncrypted}
          hint={alreadyEncrypted ? "Leave empty to keep the current passphrase." : "At least 12 characters. Keep it safe: restores need it."}
        />
      )}
    </>
  );
}

/** Create (no id) or edit a backup job: pickers for the agent's discovered databases and the destinations. */
export function BackupJobFormPage({ backupJobId }: { backupJobId?: string }) {
  const { draft, set, existing, agents, save } = useBackupJobDraft(backupJobId);
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
        <AgentPicker agents={agents} draft={draft} set={set} />
        <DatabasePicker draft={draft} set={set} />
        <DestinationPicker draft={draft} set={set} />
        <SchedulesSection schedules={draft.schedules} set={set} />
        <Field label="Retention days" type="number" min={1} max={3650} value={draft.retentionDays} onChange={(e) => set({ retentionDays: Number(e.target.value) })} required />
        <VerificationSection verification={draft.verification} set={set} />
        <EncryptionSection draft={draft} set={set} alreadyEncrypted={Boolean(existing.data?.encryption.enabled)} />
        <ErrorMessage error={save.error} />
        <button type="submit" disabled={save.isPending}>
          {backupJobId ? "Save backup job" : "Create backup job"}
        </button>
      </form>
    </>
  );
}
