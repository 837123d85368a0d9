import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, del, post } from "../api/client";
import type { Credential } from "../api/types";
import { type FieldSpec, SpecFields, readSpecs } from "../components/SimpleForm";
import { EmptyState, ErrorMessage, Field, Pager, QueryState, SelectField, useClientPage } from "../components/ui";
import { useAgents } from "./Agents";

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
  const agents = useAgents();
  const create = useMutation({
    mutationFn: (form: FormData) =>
      post<Credential>("/api/credential", { name: form.get("name"), agentId: form.get("agentId"), credential: { $type: type, ...readSpecs(form, SECRETS[type], "secret") } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["credentials"] }),
  });
  return (
    <form
      className="card"
      aria-labelledby="new-credential"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget;
        create.mutate(new FormData(form), { onSuccess: () => form.reset() });
      }}
    >
      <h2 id="new-credential">Add a credential</h2>
      <p className="muted">Secrets are write-only: they are encrypted, sent to the agent, and never shown again.</p>
      <Field label="Name" name="name" required maxLength={200} />
      <SelectField label="Type" value={type} onChange={(e) => setType(e.target.value as CredentialType)}>
        {Object.keys(SECRETS).map((t) => (
          <option key={t}>{t}</option>
        ))}
      </SelectField>
      <SelectField label="Agent that uses it" name="agentId" required>
        <option value="">Choose an agent</option>
        {agents.data?.map((a) => (
          <option key={a.agentId} value={a.agentId}>
            {a.displayName ?? a.hostname}
          </option>
        ))}
      </SelectField>
      <SpecFields specs={SECRETS[type]} prefix="secret" />
      <ErrorMessage error={create.error} />
      {create.isSuccess && (
        <p role="status" className="success">
          Credential {create.data.name} saved.
        </p>
      )}
      <button type="submit" disabled={create.isPending}>
        Add credential
      </button>
    </form>
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
                  {pageItems.map((c) => (
                    <tr key={c.credentialReferenceId}>
                      <td>{c.name}</td>
                      <td>{c.type}</td>
                      <td>
                        <button type="button" className="danger small" aria-label={`Delete credential ${c.name}`} onClick={() => confirm(`Delete ${c.name}?`) && remove.mutate(c.credentialReferenceId)}>
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
      <Pager page={page} total={total} onPage={setPage} label="Credentials" />
      <NewCredential />
    </>
  );
}
