import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, del, post } from "../api/client";
import { CreateForm } from "../components/SimpleForm";
import type { ApiKey, CreatedApiKey } from "../api/types";
import { DataTable, EmptyState, ErrorMessage, Field, Pager, QueryState, RowAction, ShownOnce, formatTime, useClientPage } from "../components/ui";

export function ApiKeysPage() {
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ["apikeys"], queryFn: () => api<ApiKey[]>("/api/apikey") });
  const { page, setPage, total, pageItems } = useClientPage(keys.data);
  const create = useMutation({
    mutationFn: (form: FormData) => post<CreatedApiKey>("/api/apikey", { name: form.get("name") }),
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
        <ShownOnce title={`Your new key “${create.data.name}”`} value={create.data.key} what="API key">
          Send it as a bearer token.
        </ShownOnce>
      )}
      <QueryState query={keys}>
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No API keys yet.">
              <p>Create one below for each script or system that calls the API, so you can revoke them one by one.</p>
            </EmptyState>
          ) : (
            <DataTable
              rows={pageItems}
              rowKey={(k) => k.apiKeyId}
              columns={[
                { header: "Name", cell: (k) => k.name },
                { header: "Key", cell: (k) => <code>{k.prefix}…</code> },
                { header: "Created", cell: (k) => formatTime(k.createdAt) },
                { header: "Last used", cell: (k) => formatTime(k.lastUsedAt) },
                {
                  header: "Actions",
                  hiddenHeader: true,
                  cell: (k) => <RowAction label="Revoke API key" name={k.name} confirmText={`Revoke ${k.name}? Scripts using it stop working.`} onConfirm={() => revoke.mutate(k.apiKeyId)} />,
                },
              ]}
            />
          )
        }
      </QueryState>
      <ErrorMessage error={revoke.error} />
      <Pager page={page} total={total} onPage={setPage} label="API keys" />
      <CreateForm title="Create an API key" submit="Create API key" mutation={create}>
        <Field label="Key name" name="name" required maxLength={100} placeholder="CI pipeline" />
      </CreateForm>
    </>
  );
}
