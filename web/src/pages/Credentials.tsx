import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, del, post } from "../api/client";
import type { Credential } from "../api/types";
import { CreateForm, type FieldSpec, SpecFields, readSpecs } from "../components/SimpleForm";
import { DataTable, EmptyState, ErrorMessage, Field, Pager, QueryState, RowAction, SelectField, useClientPage } from "../components/ui";
import { AgentSelect } from "./Agents";

type CredentialType = Credential["type"];

const SECRETS: Record<CredentialType, FieldSpec[]> = {
  BasicCredential: [
    { name: "username", label: "Username" },
    { name: "password", label: "Secret password", type: "password" },
  ],
  S3Credential: [
    { name: "accessKeyId", label: "Access key ID" },
    { name: "secretAccessKey", label: "Secret access key", type: "password" },
    { name: "region", label: "Region" },
  ],
  AzureBlobCredential: [
    { name: "accountName", label: "Account name" },
    { name: "accountKey", label: "Account key", type: "password" },
  ],
  SftpCredential: [
    { name: "username", label: "Username" },
    { name: "password", label: "Secret password", type: "password", optional: true },
    { name: "privateKey", label: "Private key", type: "textarea", optional: true },
  ],
  GoogleCloudCredential: [{ name: "serviceAccountJson", label: "Service account JSON", type: "textarea" }],
  ConnectionStringCredential: [{ name: "connectionString", label: "Connection string", type: "password" }],
};

function NewCredential() {
  const queryClient = useQueryClient();
  const [type, setType] = useState<CredentialType>("BasicCredential");
  const create = useMutation({
    mutationFn: (form: FormData) =>
      post<Credential>("/api/credential", { name: form.get("name"), agentId: form.get("agentId"), credential: { $type: type, ...readSpecs(form, SECRETS[type], "secret") } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["credentials"] }),
  });
  return (
    <CreateForm title="Add a credential" submit="Add credential" mutation={create} success={(c) => `Credential ${c.name} saved.`}>
      <p className="muted">Secrets are write-only: they are encrypted, sent to the agent, and never shown again.</p>
      <Field label="Name" name="name" required maxLength={200} />
      <SelectField label="Type" value={type} onChange={(e) => setType(e.target.value as CredentialType)}>
        {Object.keys(SECRETS).map((t) => (
          <option key={t}>{t}</option>
        ))}
      </SelectField>
      <AgentSelect label="Agent that uses it" name="agentId" required none="Choose an agent" />
      <SpecFields specs={SECRETS[type]} prefix="secret" />
    </CreateForm>
  );
}

export function CredentialsPage() {
  const queryClient = useQueryClient();
  const credentials = useQuery({ queryKey: ["credentials"], queryFn: () => api<Credential[]>("/api/credential") });
  const { page, setPage, total, pageItems } = useClientPage(credentials.data);
  const remove = useMutation({
    mutationFn: (id: string) => del(`/api/credential/${id}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["credentials"] }),
  });
  return (
    <>
      <h1>Credentials</h1>
      <QueryState query={credentials}>
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No credentials yet.">
              <p>Add one below when a destination (S3, Azure, SFTP, Google Cloud) or a database needs a login.</p>
            </EmptyState>
          ) : (
            <DataTable
              rows={pageItems}
              rowKey={(c) => c.credentialReferenceId}
              columns={[
                { header: "Name", cell: (c) => c.name },
                { header: "Type", cell: (c) => c.type },
                {
                  header: "Actions",
                  hiddenHeader: true,
                  cell: (c) => <RowAction label="Delete credential" name={c.name} confirmText={`Delete ${c.name}?`} onConfirm={() => remove.mutate(c.credentialReferenceId)} />,
                },
              ]}
            />
          )
        }
      </QueryState>
      <ErrorMessage error={remove.error} />
      <Pager page={page} total={total} onPage={setPage} label="Credentials" />
      <NewCredential />
    </>
  );
}
