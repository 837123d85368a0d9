import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { apiPage } from "../api/client";
import type { LogMessage } from "../api/types";
import { EmptyState, Field, PAGE_SIZE, Pager, QueryState, SelectField, formatTime } from "../components/ui";
import { useAgents } from "./Agents";

const SEVERITIES: LogMessage["severity"][] = ["Information", "Warning", "Error", "Critical"];
const dayBound = (day: string, end: boolean) => (day ? `${day}T${end ? "23:59:59" : "00:00:00"}Z` : undefined);

export function LogsPage() {
  const [filters, setFilters] = useState({ severity: "", agentId: "", from: "", to: "" });
  const [page, setPage] = useState(1);
  const agents = useAgents();
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
        <SelectField label="Agent" value={filters.agentId} onChange={(e) => setFilter({ agentId: e.target.value })}>
          <option value="">All agents and the platform</option>
          {agents.data?.map((a) => (
            <option key={a.agentId} value={a.agentId}>
              {a.displayName ?? a.hostname}
            </option>
          ))}
        </SelectField>
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
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Severity</th>
                      <th scope="col">Message</th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((log) => (
                      <tr key={log.logMessageId}>
                        <td>{formatTime(log.timestamp)}</td>
                        <td>
                          <span className={`badge ${log.severity === "Information" ? "neutral" : "bad"}`}>{log.severity}</span>
                        </td>
                        <td className="break">{log.message}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager page={page} total={total} onPage={setPage} label="Logs" />
            </>
          )
        }
      </QueryState>
    </>
  );
}
