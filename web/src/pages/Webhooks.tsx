import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import { api, apiPage, del, post, put } from "../api/client";
import { CreateForm } from "../components/SimpleForm";
import type { CreatedWebhook, Delivery, Webhook } from "../api/types";
import { DataTable, EmptyState, ErrorMessage, Field, PAGE_SIZE, Pager, QueryState, ShownOnce, StatusBadge, formatTime, useClientPage } from "../components/ui";

const EVENTS: Webhook["events"] = ["backup.success", "backup.failure", "backup.anomaly", "agent.connected", "agent.disconnected"];

function NewWebhook() {
  const queryClient = useQueryClient();
  const create = useMutation({
    mutationFn: (form: FormData) => post<CreatedWebhook>("/api/webhook", { url: form.get("url"), events: form.getAll("events") }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["webhooks"] }),
  });
  return (
    <>
      {create.isSuccess && (
        <ShownOnce title="Signing secret" value={create.data.secret} what="signing secret">
          Verify each delivery's <code>webhook-signature</code> with this secret.
        </ShownOnce>
      )}
      <CreateForm title="Add a webhook" submit="Add webhook" mutation={create}>
        <Field label="URL" name="url" type="url" required placeholder="https://example.com/hooks/datasync" />
        <fieldset>
          <legend>Events</legend>
          {EVENTS.map((event) => (
            <label key={event} className="check">
              <input type="checkbox" name="events" value={event} defaultChecked /> {event}
            </label>
          ))}
        </fieldset>
      </CreateForm>
    </>
  );
}

export function WebhooksPage() {
  const webhooks = useQuery({ queryKey: ["webhooks"], queryFn: () => api<Webhook[]>("/api/webhook") });
  const { page, setPage, total, pageItems } = useClientPage(webhooks.data);
  return (
    <>
      <h1>Webhooks</h1>
      <p>DataSync POSTs signed JSON (Standard Webhooks) to your URL when backups succeed, fail or look wrong, and when agents come and go.</p>
      <QueryState query={webhooks}>
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No webhooks yet.">
              <p>Add one below (Professional and Ultimate plans) to hear about backups in your own systems.</p>
            </EmptyState>
          ) : (
            <DataTable
              rows={pageItems}
              rowKey={(w) => w.webhookId}
              columns={[
                { header: "URL", className: "break", cell: (w) => <Link href={`/webhooks/${w.webhookId}`}>{w.url}</Link> },
                { header: "Events", cell: (w) => w.events.join(", ") },
                { header: "Enabled", cell: (w) => (w.isEnabled ? "Yes" : "No") },
              ]}
            />
          )
        }
      </QueryState>
      <Pager page={page} total={total} onPage={setPage} label="Webhooks" />
      <NewWebhook />
    </>
  );
}

function WebhookDeliveries({ webhookId }: { webhookId: string }) {
  const [page, setPage] = useState(1);
  const deliveries = useQuery({
    queryKey: ["deliveries", webhookId, page],
    queryFn: () => apiPage<Delivery>(`/api/webhook/${webhookId}/deliveries`, { page, pageSize: PAGE_SIZE }),
    refetchInterval: 5000,
    placeholderData: (previous) => previous,
  });
  return (
    <QueryState query={deliveries}>
      {({ items, total }) =>
        total === 0 ? (
          <EmptyState title="No deliveries yet.">
            <p>Send a test event to check your endpoint.</p>
          </EmptyState>
        ) : (
          <>
            <DataTable
              rows={items}
              rowKey={(d) => d.deliveryId}
              columns={[
                { header: "Event", cell: (d) => d.event },
                { header: "Status", cell: (d) => <StatusBadge status={d.status} /> },
                { header: "Attempts", cell: (d) => d.attempts },
                { header: "Response", cell: (d) => d.responseStatus ?? "—" },
                { header: "Last attempt", cell: (d) => formatTime(d.lastAttemptAt) },
              ]}
            />
            <Pager page={page} total={total} onPage={setPage} label="Deliveries" />
          </>
        )
      }
    </QueryState>
  );
}

/** Send a test event, enable or disable, delete; the page shows only a notice once deleted. */
function useWebhookActions(webhookId: string) {
  const queryClient = useQueryClient();
  const invalidateWebhooks = () => queryClient.invalidateQueries({ queryKey: ["webhooks"] });
  const test = useMutation({
    mutationFn: () => post<{ message: string }>(`/api/webhook/${webhookId}/test`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["deliveries", webhookId] }),
  });
  const toggle = useMutation({ mutationFn: (isEnabled: boolean) => put<Webhook>(`/api/webhook/${webhookId}`, { isEnabled }), onSuccess: invalidateWebhooks });
  const remove = useMutation({ mutationFn: () => del(`/api/webhook/${webhookId}`), onSuccess: invalidateWebhooks });
  return { test, toggle, remove };
}

function WebhookDetail({ webhook, actions }: { webhook: Webhook; actions: ReturnType<typeof useWebhookActions> }) {
  const { test, toggle, remove } = actions;
  return (
    <>
      <p>
        <Link href="/webhooks">← Webhooks</Link>
      </p>
      <h1 className="break">{webhook.url}</h1>
      <p>Events: {webhook.events.join(", ")}</p>
      <div className="actions">
        <button type="button" onClick={() => test.mutate()} disabled={test.isPending}>
          Send test event
        </button>
        <button type="button" className="secondary" onClick={() => toggle.mutate(!webhook.isEnabled)}>
          {webhook.isEnabled ? "Disable webhook" : "Enable webhook"}
        </button>
        <button type="button" className="danger" onClick={() => confirm("Delete this webhook?") && remove.mutate()}>
          Delete webhook
        </button>
      </div>
      {test.isSuccess && (
        <p role="status" className="success">
          {test.data.message}
        </p>
      )}
      <ErrorMessage error={test.error ?? toggle.error ?? remove.error} />
      <h2>Deliveries</h2>
      <WebhookDeliveries webhookId={webhook.webhookId} />
    </>
  );
}

export function WebhookPage({ webhookId }: { webhookId: string }) {
  const webhooks = useQuery({ queryKey: ["webhooks"], queryFn: () => api<Webhook[]>("/api/webhook") });
  const actions = useWebhookActions(webhookId);
  const webhook = webhooks.data?.find((w) => w.webhookId === webhookId);
  if (actions.remove.isSuccess)
    return (
      <p role="status">
        Webhook deleted. <Link href="/webhooks">Back to webhooks</Link>
      </p>
    );
  return (
    <QueryState query={webhooks}>
      {() =>
        !webhook ? (
          <p>
            No such webhook. <Link href="/webhooks">Back to webhooks</Link>
          </p>
        ) : (
          <WebhookDetail webhook={webhook} actions={actions} />
        )
      }
    </QueryState>
  );
}
