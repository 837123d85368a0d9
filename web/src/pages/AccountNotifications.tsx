import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, put } from "../api/client";
import { ErrorMessage, QueryState } from "../components/ui";

interface NotificationPreferences {
  backupFailure: boolean;
  anomaly: boolean;
  agentOffline: boolean;
  weeklyReport: boolean;
}

const KINDS: [keyof NotificationPreferences, string][] = [
  ["backupFailure", "A backup fails"],
  ["anomaly", "An anomaly is detected"],
  ["agentOffline", "An agent is offline for more than 10 minutes"],
  ["weeklyReport", "Weekly summary"],
];
const notificationsKey = ["account", "notifications"] as const;

/** Which alert emails this user gets (GET/PUT /api/account/notifications). */
export function NotificationsSection() {
  const queryClient = useQueryClient();
  const preferences = useQuery({ queryKey: notificationsKey, queryFn: () => api<NotificationPreferences>("/api/account/notifications") });
  const save = useMutation({
    mutationFn: (body: NotificationPreferences) => put<NotificationPreferences>("/api/account/notifications", body),
    onSuccess: (data) => queryClient.setQueryData(notificationsKey, data),
  });
  return (
    <section className="card" aria-labelledby="notifications-heading">
      <h2 id="notifications-heading">Notifications</h2>
      <QueryState query={preferences}>
        {(data) => (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              const form = new FormData(e.currentTarget);
              save.mutate(Object.fromEntries(KINDS.map(([key]) => [key, form.has(key)])) as unknown as NotificationPreferences);
            }}
          >
            <fieldset>
              <legend>Email me when</legend>
              {KINDS.map(([key, label]) => (
                <label key={key} className="check">
                  <input type="checkbox" name={key} defaultChecked={data[key]} /> {label}
                </label>
              ))}
            </fieldset>
            <ErrorMessage error={save.error} />
            {save.isSuccess && <p role="status">Notification preferences saved.</p>}
            <button type="submit" disabled={save.isPending}>
              Save notification preferences
            </button>
          </form>
        )}
      </QueryState>
    </section>
  );
}
