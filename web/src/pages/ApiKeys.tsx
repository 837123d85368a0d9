import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, del, post } from "../api/client";
import type { ApiKey, CreatedApiKey } from "../api/types";
import { CopyButton, EmptyState, ErrorMessage, Field, Pager, QueryState, formatTime, useClientPage } from "../components/ui";

export function ApiKeysPage() {
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ["apikeys"], queryFn: () => api<ApiKey[]>("/api/apikey") });
  const { page, setPage, total, pageItems } = useClientPage(keys.data);
  const create = useMutation({
    mutationFn: (name: string) => post<CreatedApiKey>("/api/apikey", { name }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["apikeys"] }),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => del(`/api/apikey/${id}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["apikeys"] }),
  });
  return (
    <>
      <h1>API keys</h1>
      <p>API keys let scripts and CI call the API (Professional and Ultimate plans). Send one as <code>Authorization: Bearer ds_live_…</code>.</p>
      {create.isSuccess && (
        <section className="card highlight" aria-labelledby="new-key-heading">
          <h2 id="new-key-heading">Your new key “{create.data.name}”</h2>
          <p>Copy it now: it is shown only once.</p>
          <div className="command">
            <code aria-label="New API key">{create.data.key}</code>
            <CopyButton text={create.data.key} what="API key" />
          </div>
        </section>
      )}
      <QueryState query={keys}>
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No API keys yet.">
              <p>Create one below for each script or system that calls the API, so you can revoke them one by one.</p>
            </EmptyState>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Key</th>
                    <th scope="col">Created</th>
                    <th scope="col">Last used</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {pageItems.map((k) => (
                    <tr key={k.apiKeyId}>
                      <td>{k.name}</td>
                      <td>
                        <code>{k.prefix}…</code>
                      </td>
                      <td>{formatTime(k.createdAt)}</td>
                      <td>{formatTime(k.lastUsedAt)}</td>
                      <td>
                        <button type="button" className="danger small" aria-label={`Revoke API key ${k.name}`} onClick={() => confirm(`Revoke ${k.name}? Scripts using it stop working.`) && revoke.mutate(k.apiKeyId)}>
                          Revoke
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
      <ErrorMessage error={revoke.error} />
      <Pager page={page} total={total} onPage={setPage} label="API keys" />
      <form
        className="card"
        aria-labelledby="create-key"
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget;
          create.mutate(String(new FormData(form).get("name")), { onSuccess: () => form.reset() });
        }}
      >
        <h2 id="create-key">Create an API key</h2>
        <Field label="Key name" name="name" required maxLength={100} placeholder="CI pipeline" />
        <ErrorMessage error={create.error} />
        <button type="submit" disabled={create.isPending}>
          Create API key
        </button>
      </form>
    </>
  );
}
