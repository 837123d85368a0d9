import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, post } from "../api/client";
import type { BugReport, BugReportCreate, BugReportCreated, KnownIssue } from "../api/types";
import { CreateForm } from "../components/SimpleForm";
import { DataTable, EmptyState, Field, Pager, QueryState, SelectField, TextAreaField, fieldError, formatTime, useClientPage } from "../components/ui";

// Typed by the API's enums: a category, severity or status added there fails the typecheck until named here.
const CATEGORIES: Record<BugReport["category"], string> = {
  backup: "Backups",
  restore: "Restores",
  agent: "Agent",
  billing: "Billing",
  ui: "Dashboard",
  api: "API",
  other: "Something else",
};
const SEVERITIES: Record<BugReport["severity"], string> = {
  low: "Low: a small annoyance",
  medium: "Medium: something works badly",
  high: "High: something does not work",
  critical: "Critical: backups or data at risk",
};
const STATUSES: Record<BugReport["status"], string> = { open: "Open", in_progress: "In progress", resolved: "Resolved" };

const reportsKey = ["bugreports"] as const;

/** Severity without its explanation, for tables. */
const severityWord = (severity: BugReport["severity"]) => SEVERITIES[severity].split(":")[0];

function StatusLabel({ status }: { status: BugReport["status"] }) {
  return <span className={`badge ${status === "resolved" ? "ok" : "neutral"}`}>{STATUSES[status]}</span>;
}

function ReportForm() {
  const queryClient = useQueryClient();
  const submit = useMutation({
    mutationFn: (form: FormData) => post<BugReportCreated>("/api/bugreport", Object.fromEntries(form) as BugReportCreate),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: reportsKey }),
  });
  const error = (name: keyof BugReportCreate) => fieldError(submit.error, name);
  return (
    <CreateForm title="Report a bug" submit="Submit bug report" mutation={submit} success={(created) => `${created.message} We will email you when its status changes.`}>
      <Field label="Title" name="title" required maxLength={200} hint="3 to 200 characters: what goes wrong, in one line." error={error("title")} />
      <TextAreaField
        label="Description"
        name="description"
        required
        maxLength={10_000}
        rows={6}
        hint="10 to 10,000 characters: what you did, what you expected, and what happened instead."
        error={error("description")}
      />
      <SelectField label="Category" name="category" defaultValue="backup" error={error("category")}>
        {Object.entries(CATEGORIES).map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </SelectField>
      <SelectField label="Severity" name="severity" defaultValue="medium" error={error("severity")}>
        {Object.entries(SEVERITIES).map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </SelectField>
    </CreateForm>
  );
}

function YourReports() {
  const reports = useQuery({ queryKey: reportsKey, queryFn: () => api<BugReport[]>("/api/bugreport") });
  const { page, setPage, total, pageItems } = useClientPage(reports.data);
  return (
    <section aria-labelledby="your-reports-heading">
      <h2 id="your-reports-heading">Your bug reports</h2>
      <QueryState query={reports} loading="Loading your bug reports…">
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No bug reports yet.">
              <p>If something in DataSync does not work as it should, report it with the form below. Its status shows here, and we email you when it changes.</p>
            </EmptyState>
          ) : (
            <DataTable
              label="Your bug reports"
              rows={pageItems}
              rowKey={(r) => r.bugReportId}
              columns={[
                { header: "Title", cell: (r) => r.title },
                { header: "Category", cell: (r) => CATEGORIES[r.category] },
                { header: "Severity", cell: (r) => severityWord(r.severity) },
                { header: "Status", cell: (r) => <StatusLabel status={r.status} /> },
                { header: "Reported", cell: (r) => formatTime(r.createdAt) },
                { header: "Last updated", cell: (r) => formatTime(r.updatedAt) },
              ]}
            />
          )
        }
      </QueryState>
      <Pager page={page} total={total} onPage={setPage} label="Your bug reports" />
    </section>
  );
}

/** The public list (GET /api/bugreport/known): what the DataSync team has acknowledged and is working on. */
function KnownIssues() {
  const issues = useQuery({ queryKey: ["knownissues"], queryFn: () => api<KnownIssue[]>("/api/bugreport/known") });
  const { page, setPage, total, pageItems } = useClientPage(issues.data);
  return (
    <section aria-labelledby="known-issues-heading">
      <h2 id="known-issues-heading">Known issues</h2>
      <p className="muted">Problems the DataSync team has confirmed and is working on, for every customer. Resolved issues stay listed for 30 days.</p>
      <QueryState query={issues} loading="Loading known issues…">
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No known issues right now." />
          ) : (
            <DataTable
              label="Known issues"
              rows={pageItems}
              rowKey={(i) => String(i.id)}
              columns={[
                { header: "Issue", cell: (i) => i.title },
                { header: "Category", cell: (i) => CATEGORIES[i.category] },
                { header: "Severity", cell: (i) => severityWord(i.severity) },
                { header: "Status", cell: (i) => <StatusLabel status={i.status} /> },
                { header: "Since", cell: (i) => formatTime(i.createdAt) },
              ]}
            />
          )
        }
      </QueryState>
      <Pager page={page} total={total} onPage={setPage} label="Known issues" />
    </section>
  );
}

export function BugReportsPage() {
  return (
    <>
      <h1>Bug reports</h1>
      <YourReports />
      <ReportForm />
      <KnownIssues />
    </>
  );
}
