import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, del, post } from "../api/client";
import type { Credential, Destination } from "../api/types";
import { CreateForm, type FieldSpec, SpecFields, readSpecs } from "../components/SimpleForm";
import { DataTable, EmptyState, ErrorMessage, Field, Pager, QueryState, RowAction, SelectField, useClientPage } from "../components/ui";
import { AgentSelect } from "./Agents";

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
    <CreateForm title="Add a destination" submit="Add destination" mutation={create} success={(d) => `Destination ${d.name} added.`}>
      <Field label="Name" name="name" required maxLength={200} />
      <SelectField label="Type" value={type} onChange={(e) => setType(e.target.value as DestinationType)}>
        {Object.keys(SETTINGS).map((t) => (
          <option key={t}>{t}</option>
        ))}
      </SelectField>
      <AgentSelect label="Agent that writes to it" name="agentId" none="Any agent" />
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
    </CreateForm>
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
            <DataTable
              rows={pageItems}
              rowKey={(d) => d.destinationId}
              columns={[
                { header: "Name", cell: (d) => d.name },
                { header: "Type", cell: (d) => d.type },
                {
                  header: "Actions",
                  hiddenHeader: true,
                  cell: (d) => <RowAction label="Delete destination" name={d.name} confirmText={`Delete ${d.name}?`} onConfirm={() => remove.mutate(d.destinationId)} />,
                },
              ]}
            />
          )
        }
      </QueryState>
      <ErrorMessage error={remove.error} />
      <Pager page={page} total={total} onPage={setPage} label="Destinations" />
      <NewDestination />
    </>
  );
}
