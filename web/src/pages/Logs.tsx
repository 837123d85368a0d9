import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { apiPage } from "../api/client";
import type { LogMessage } from "../api/types";
import { DataTable, EmptyState, Field, PAGE_SIZE, Pager, QueryState, SelectField, dayBound, formatTime } from "../components/ui";
import { AgentSelect } from "./Agents";

const SEVERITIES: LogMessage["severity"][] = ["Information", "Warning", "Error", "Critical"];

export function LogsPage() {
  const [filters, setFilters] = useState({ severity: "", agentId: "", from: "", to: "" });
  const [page, setPage] = useState(1);
  const logs = useQuery({
    queryKey: ["logs", filters, page],
    queryFn: () => apiPage<LogMessage>("/api/log", { ...filters, from: dayBound(filters.from, false), to: dayBound(filters.to, true), page, pageSize: PAGE_SIZE }),
    placeholderData: (previous) => previous,
  });
  const setFilter = (patch: Partial<typeof filters>) => {
    setFilters((f) => ({ ...f, ...patch }));
    setPage(1);
  };
  return (
    <>
      <h1>Logs</h1>
      <form className="filters" aria-label="Filter logs" onSubmit={(e) => e.preventDefault()}>
        <SelectField label="Severity" value={filters.severity} onChange={(e) => setFilter({ severity: e.target.value })}>
          <option value="">All severities</option>
          {SEVERITIES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </SelectField>
        <AgentSelect label="Agent" value={filters.agentId} onChange={(e) => setFilter({ agentId: e.target.value })} none="All agents and the platform" />
        <Field label="From" type="date" value={filters.from} onChange={(e) => setFilter({ from: e.target.value })} />
        <Field label="To" type="date" value={filters.to} onChange={(e) => setFilter({ to: e.target.value })} />
      </form>
      <QueryState query={logs}>
        {({ items, total }) =>
          total === 0 ? (
            <EmptyState title="No log entries match.">
              <p>Agents and the platform log here: jobs created, backups started and finished, agents going offline.</p>
            </EmptyState>
          ) : (
            <>
              <DataTable
                rows={items}
                rowKey={(log) => log.logMessageId}
                columns={[
                  { header: "Time", cell: (log) => formatTime(log.timestamp) },
                  { header: "Severity", cell: (log) => <span className={`badge ${log.severity === "Information" ? "neutral" : "bad"}`}>{log.severity}</span> },
                  { header: "Message", className: "break", cell: (log) => log.message },
                ]}
              />
              <Pager page={page} total={total} onPage={setPage} label="Logs" />
            </>
          )
        }
      </QueryState>
    </>
  );
}
