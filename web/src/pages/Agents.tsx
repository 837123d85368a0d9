import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useLocation } from "wouter";
import { api, del, post } from "../api/client";
import type { Agent, AgentDetail, RegistrationToken } from "../api/types";
import { CopyButton, DataTable, EmptyState, ErrorMessage, Pager, QueryState, SelectField, StatusBadge, formatTime, useClientPage } from "../components/ui";

export const useAgents = () => useQuery({ queryKey: ["agents"], queryFn: () => api<Agent[]>("/api/agent") });

export const agentName = (agent: Pick<Agent, "displayName" | "hostname">) => agent.displayName ?? agent.hostname;

/** A picker of the subscriber's agents; `none` is the empty choice's text. */
export function AgentSelect({ none, ...select }: { label: string; none: string } & Omit<React.ComponentProps<typeof SelectField>, "children">) {
  const agents = useAgents();
  return (
    <SelectField {...select}>
      <option value="">{none}</option>
      {agents.data?.map((a) => (
        <option key={a.agentId} value={a.agentId}>
          {agentName(a)}
        </option>
      ))}
    </SelectField>
  );
}

/** The exact commands for a new agent, with a fresh one-time registration token (24 h). */
function InstallAgent({ agents }: { agents: Agent[] }) {
  const queryClient = useQueryClient();
  const token = useQuery({
    queryKey: ["registration-token"],
    queryFn: () => post<RegistrationToken>("/api/agent/registration-token"),
    staleTime: Number.POSITIVE_INFINITY,
    gcTime: Number.POSITIVE_INFINITY,
  });
  const online = agents.filter((a) => a.isOnline);
  const commands = token.data
    ? [`datasync-agent enroll --server ${location.origin} --token ${token.data.registrationToken}`, "datasync-agent run --config agent.json"].join("\n")
    : "";
  return (
    <section className="card" aria-labelledby="install-heading">
      <h2 id="install-heading">Install an agent</h2>
      <p>
        Run this on the server that hosts your databases: it installs the agent (Node.js 22 or newer), enrolls it with a one-time token and starts
        its service.
      </p>
      <QueryState query={token} loading="Creating a registration token…">
        {(data) => (
          <>
            <div className="command">
              <pre aria-label="Install command">
                <code>{data.installCommand}</code>
              </pre>
              <CopyButton text={data.installCommand} what="install command" />
            </div>
            <p>
              Or, with the agent already installed, enroll and start it by hand; describe its database engines in <code>agent.json</code> (see{" "}
              <code>agent/agent.example.json</code>).
            </p>
            <div className="command">
              <pre aria-label="Install commands">
                <code>{commands}</code>
              </pre>
              <CopyButton text={commands} what="install commands" />
            </div>
            <p className="muted">
              The token works once and expires {formatTime(data.expiresAt)}.{" "}
              <button type="button" className="link" onClick={() => queryClient.resetQueries({ queryKey: ["registration-token"] })}>
                Create a new token
              </button>
            </p>
          </>
        )}
      </QueryState>
      <p role="status" className={online.length ? "success connected" : "muted"}>
        {online.length ? `Connected: ${online.map(agentName).join(", ")}` : "Waiting for an agent to connect…"}
      </p>
    </section>
  );
}

export function AgentsPage() {
  const agents = useAgents();
  const { page, setPage, total, pageItems } = useClientPage(agents.data);
  return (
    <>
      <h1>Agents</h1>
      <QueryState query={agents}>
        {(list) => (
          <>
            <InstallAgent agents={list} />
            <section aria-labelledby="agents-heading">
              <h2 id="agents-heading">Your agents</h2>
              {list.length === 0 ? (
                <EmptyState title="No agents yet.">
                  <p>Run the commands above on a database server: it appears here, and turns green when it connects.</p>
                </EmptyState>
              ) : (
                <DataTable
                  rows={pageItems}
                  rowKey={(a) => a.agentId}
                  columns={[
                    { header: "Agent", cell: (a) => <Link href={`/agents/${a.agentId}`}>{agentName(a)}</Link> },
                    { header: "Status", cell: (a) => <StatusBadge status={a.isOnline ? "Online" : "Offline"} /> },
                    { header: "Host", cell: (a) => `${a.hostname} (${a.operatingSystem})` },
                    { header: "Last seen", cell: (a) => formatTime(a.lastSeenUtc) },
                    { header: "Version", cell: (a) => a.version },
                  ]}
                />
              )}
              <Pager page={page} total={total} onPage={setPage} label="Agents" />
            </section>
          </>
        )}
      </QueryState>
    </>
  );
}

export function AgentPage({ agentId }: { agentId: string }) {
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const agent = useQuery({ queryKey: ["agent", agentId], queryFn: () => api<AgentDetail>(`/api/agent/${agentId}`) });
  const remove = useMutation({
    mutationFn: () => del(`/api/agent/${agentId}`),
    onSuccess: () => {
      queryClient.invalidateQueries({ queryKey: ["agents"] });
      navigate("/agents");
    },
  });
  return (
    <QueryState query={agent}>
      {(data) => (
        <>
          <p>
            <Link href="/agents">← Agents</Link>
          </p>
          <h1>{agentName(data)}</h1>
          <p>
            <StatusBadge status={data.isOnline ? "Online" : "Offline"} /> {data.hostname} · {data.operatingSystem} · agent {data.version} · last seen{" "}
            {formatTime(data.lastSeenUtc)}
          </p>
          <h2>Engines and databases</h2>
          {data.engines.length === 0 ? (
            <EmptyState title="No database engines reported yet.">
              <p>The agent reports the engines of its agent.json when it connects.</p>
            </EmptyState>
          ) : (
            data.engines.map((engine) => (
              <section key={engine.engineId} className="card">
                <h3>
                  {engine.dbmsType} {engine.version ?? ""} <span className="muted">({engine.engineKey})</span>
                </h3>
                {engine.databases.length === 0 ? (
                  <p className="muted">No databases found.</p>
                ) : (
                  <ul>
                    {engine.databases.map((db) => (
                      <li key={db.databaseId}>
                        {db.name} {db.missingSince && <span className="muted">(missing since {formatTime(db.missingSince)})</span>}
                      </li>
                    ))}
                  </ul>
                )}
              </section>
            ))
          )}
          <h2>Danger zone</h2>
          <ErrorMessage error={remove.error} />
          <button
            type="button"
            className="danger"
            onClick={() => confirm(`Delete the agent ${agentName(data)}? Its jobs stay, disabled.`) && remove.mutate()}
          >
            Delete agent
          </button>
        </>
      )}
    </QueryState>
  );
}
