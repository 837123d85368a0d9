import type { UseQueryResult } from "@tanstack/react-query";
import { type ReactNode, type RefObject, useEffect, useId, useRef, useState } from "react";
import { ApiError } from "../api/client";

export function Loading({ what = "Loading…" }: { what?: string }) {
  return (
    <p role="status" className="muted">
      {what}
    </p>
  );
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

/** Loading, error, then the data: the three states every list and page shows. */
export function QueryState<T>({ query, children, loading }: { query: UseQueryResult<T>; children: (data: T) => ReactNode; loading?: string }) {
  if (query.isPending) return <Loading what={loading} />;
  if (query.isError)
    return (
      <div className="error-box">
        <ErrorMessage error={query.error} />
        <button type="button" className="secondary" onClick={() => query.refetch()}>
          Try again
        </button>
      </div>
    );
  return <>{children(query.data)}</>;
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p>
        <strong>{title}</strong>
      </p>
      {children}
    </div>
  );
}

export const PAGE_SIZE = 20;

/** Previous / next between pages of `total` items; hidden when everything fits on one page. */
export function Pager({ page, total, pageSize = PAGE_SIZE, onPage, label }: { page: number; total: number; pageSize?: number; onPage: (page: number) => void; label: string }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (pages <= 1) return null;
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" className="secondary" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous page
      </button>
      <span aria-live="polite">
        Page {page} of {pages} ({total} in all)
      </span>
      <button type="button" className="secondary" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next page
      </button>
    </nav>
  );
}

/** Paging of a list the API returns whole. */
export function useClientPage<T>(items: T[] | undefined, pageSize = PAGE_SIZE) {
  const [page, setPage] = useState(1);
  const total = items?.length ?? 0;
  const last = Math.max(1, Math.ceil(total / pageSize));
  const current = Math.min(page, last);
  return { page: current, setPage, total, pageItems: (items ?? []).slice((current - 1) * pageSize, current * pageSize) };
}

/** "Copy" (then "Copied") plus what it copies, for screen readers: e.g. "Copy install commands". */
export function CopyButton({ text, what }: { text: string; what: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="secondary copy"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          // Without clipboard permission, select-and-copy by hand still works.
        }
        setCopied(true);
        setTimeout(() => setCopied(false), 2000);
      }}
    >
      {copied ? "Copied" : "Copy"}
      <span className="visually-hidden"> {what}</span>
    </button>
  );
}

/** What ties a control to its label, hint and error (the ids), and marks it invalid when the API said so. */
interface ControlProps {
  id: string;
  "aria-describedby"?: string;
  "aria-invalid"?: true;
}

/** One labelled field: label, control, hint, and the API's message about it (`error`), read out with the control. */
function FieldFrame({ label, hint, error, control }: { label: string; hint?: string; error?: string; control: (props: ControlProps) => ReactNode }) {
  const id = useId();
  const describedBy = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {control({ id, "aria-describedby": describedBy || undefined, "aria-invalid": error ? true : undefined })}
      {hint && (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} className="error">
          {error}
        </small>
      )}
    </div>
  );
}

interface FieldText {
  label: string;
  hint?: string;
  error?: string;
}

/** A labelled input; the label is the accessible name the tests and screen readers use. */
export function Field({ label, hint, error, ...input }: FieldText & React.InputHTMLAttributes<HTMLInputElement>) {
  return <FieldFrame label={label} hint={hint} error={error} control={(props) => <input {...props} {...input} />} />;
}

export function TextAreaField({ label, hint, error, ...textarea }: FieldText & React.TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return <FieldFrame label={label} hint={hint} error={error} control={(props) => <textarea {...props} {...textarea} />} />;
}

export function SelectField({ label, hint, error, children, ...select }: FieldText & { children: ReactNode } & React.SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <FieldFrame
      label={label}
      hint={hint}
      error={error}
      control={(props) => (
        <select {...props} {...select}>
          {children}
        </select>
      )}
    />
  );
}

/** The API's message about field `name` of a rejected request (a 400's `details`), for that field's `error`. */
export const fieldError = (error: unknown, name: string) => (error instanceof ApiError ? error.detail(name) : undefined);

export function StatusBadge({ status }: { status: string | null }) {
  const kind = status === "Success" || status === "Online" ? "ok" : status === "Failed" || status === "Offline" ? "bad" : "neutral";
  return <span className={`badge ${kind}`}>{status ?? "Never run"}</span>;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
export const formatTime = (iso: string | null | undefined) => (iso ? dateTime.format(new Date(iso)) : "—");

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A date input's day as the start (or end) of that day in UTC, for the API's `from`/`to`. */
export const dayBound = (day: string, end: boolean) => (day ? `${day}T${end ? "23:59:59" : "00:00:00"}Z` : undefined);

export const formatDuration = (ms: number | null | undefined) => (ms === null || ms === undefined ? "—" : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

export interface Column<T> {
  /** The header; a column of actions has a hidden one for screen readers. */
  header: string;
  hiddenHeader?: boolean;
  cell: (row: T) => ReactNode;
  className?: string;
}

/** Whether the element is narrower than its content (it scrolls sideways), followed as either resizes. */
function useScrollsSideways(ref: RefObject<HTMLElement | null>) {
  const [scrolls, setScrolls] = useState(false);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setScrolls(element.scrollWidth > element.clientWidth));
    observer.observe(element);
    if (element.firstElementChild) observer.observe(element.firstElementChild);
    return () => observer.disconnect();
  }, [ref]);
  return scrolls;
}

/**
 * Every list's table: scrolls sideways on narrow screens instead of widening the page. While it does,
 * the scrolling box is a named tab stop, so keyboard users can scroll it with the arrow keys too.
 */
export function DataTable<T>({ rows, columns, rowKey, label = "Table" }: { rows: T[]; columns: Column<T>[]; rowKey: (row: T) => string; label?: string }) {
  const wrap = useRef<HTMLDivElement>(null);
  const scrolls = useScrollsSideways(wrap);
  return (
    <div className="table-wrap" ref={wrap} {...(scrolls && { tabIndex: 0, role: "region", "aria-label": `${label} (scrolls sideways)` })}>
      <table>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column.header}>
                {column.hiddenHeader ? <span className="visually-hidden">{column.header}</span> : column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((column) => (
                <td key={column.header} className={column.className}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A secret the API returns once (API key, webhook signing secret): shown with a copy button and a warning. */
export function ShownOnce({ title, value, what, children }: { title: string; value: string; what: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="card highlight" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <p>{children} Copy it now: it is shown only once.</p>
      <div className="command">
        <code aria-label={what[0].toUpperCase() + what.slice(1)}>{value}</code>
        <CopyButton text={value} what={what} />
      </div>
    </section>
  );
}

/** A small delete/revoke button in a table row, asking first; its accessible name says what it removes. */
export function RowAction({ label, name, confirmText, onConfirm }: { label: string; name: string; confirmText: string; onConfirm: () => void }) {
  return (
    <button type="button" className="danger small" aria-label={`${label} ${name}`} onClick={() => confirm(confirmText) && onConfirm()}>
      {label.split(" ")[0]}
    </button>
  );
}
