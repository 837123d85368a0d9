import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, del, post } from "../api/client";
import type { Credential, Destination } from "../api/types";
import { type FieldSpec, SpecFields, readSpecs } from "../components/SimpleForm";
import { EmptyState, ErrorMessage, Field, Pager, QueryState, SelectField, useClientPage } from "../components/ui";
import { useAgents } from "./Agents";

type DestinationType = Destination["type"];

const SETTINGS: Record<DestinationType, FieldSpec[]> = {
  LocalStorage: [{ name: "path", label: "Folder path", hint: "On the agent's machine, e.g. /var/backups/datasync" }],
  S3Storage: [
    { name: "bucket", label: "Bucket" },
    { name: "region", label: "Region" },
    { name: "prefix", label: "Prefix", optional: true },
    { name: "endpoint", label: "Endpoint URL", optional: true, hint: "For S3-compatible storage other than AWS" },
  ],
  AzureBlobStorage: [
    { name: "container", label: "Container" },
    { name: "prefix", label: "Prefix", optional: true },
  ],
  SftpStorage: [
    { name: "host", label: "Host" },
    { name: "port", label: "Port", type: "number" },
    { name: "path", label: "Remote path" },
  ],
  GoogleCloudStorage: [
    { name: "bucket", label: "Bucket" },
    { name: "prefix", label: "Prefix", optional: true },
  ],
};

function NewDestination() {
  const queryClient = useQueryClient();
  const [type, setType] = useState<DestinationType>("LocalStorage");
  const agents = useAgents();
  const credentials = useQuery({ queryKey: ["credentials"], queryFn: () => api<Credential[]>("/api/credential") });
  const create = useMutation({
    mutationFn: (form: FormData) =>
      post<Destination>("/api/destination", {
        name: form.get("name"),
        type,
        agentId: form.get("agentId") || undefined,
        credentialReferenceId: form.get("credentialReferenceId") || undefined,
        settings: readSpecs(form, SETTINGS[type], "settings"),
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["destinations"] }),
  });
  return (
    <form
      className="card"
      aria-labelledby="new-destination"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget;
        create.mutate(new FormData(form), { onSuccess: () => form.reset() });
      }}
    >
      <h2 id="new-destination">Add a destination</h2>
      <Field label="Name" name="name" required maxLength={200} />
      <SelectField label="Type" value={type} onChange={(e) => setType(e.target.value as DestinationType)}>
        {Object.keys(SETTINGS).map((t) => (
          <option key={t}>{t}</option>
        ))}
      </SelectField>
      <SelectField label="Agent that writes to it" name="agentId">
        <option value="">Any agent</option>
        {agents.data?.map((a) => (
          <option key={a.agentId} value={a.agentId}>
            {a.displayName ?? a.hostname}
          </option>
        ))}
      </SelectField>
      <SpecFields specs={SETTINGS[type]} prefix="settings" />
      {type !== "LocalStorage" && (
        <SelectField label="Credential" name="credentialReferenceId">
          <option value="">None</option>
          {credentials.data?.map((c) => (
            <option key={c.credentialReferenceId} value={c.credentialReferenceId}>
              {c.name} ({c.type})
            </option>
          ))}
        </SelectField>
      )}
      <ErrorMessage error={create.error} />
      {create.isSuccess && (
        <p role="status" className="success">
          Destination {create.data.name} added.
        </p>
      )}
      <button type="submit" disabled={create.isPending}>
        Add destination
      </button>
    </form>
  );
}

export function DestinationsPage() {
  const queryClient = useQueryClient();
  const destinations = useQuery({ queryKey: ["destinations"], queryFn: () => api<Destination[]>("/api/destination") });
  const { page, setPage, total, pageItems } = useClientPage(destinations.data);
  const remove = useMutation({
    mutationFn: (id: string) => del(`/api/destination/${id}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["destinations"] }),
  });
  return (
    <>
      <h1>Destinations</h1>
      <p>Where agents write backups. Backup bytes go from the agent straight to the destination, never through DataSync.</p>
      <QueryState query={destinations}>
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No destinations yet.">
              <p>Add one below: a folder on the agent's machine is the quickest start.</p>
            </EmptyState>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Type</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {pageItems.map((d) => (
                    <tr key={d.destinationId}>
                      <td>{d.name}</td>
                      <td>{d.type}</td>
                      <td>
                        <button type="button" className="danger small" aria-label={`Delete destination ${d.name}`} onClick={() => confirm(`Delete ${d.name}?`) && remove.mutate(d.destinationId)}>
                          Delete
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </QueryState>
      <ErrorMessage error={remove.error} />
      <Pager page={page} total={total} onPage={setPage} label="Destinations" />
      <NewDestination />
    </>
  );
}
