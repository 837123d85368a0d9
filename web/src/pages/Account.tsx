import { useMutation, useQueryClient } from "@tanstack/react-query";
import { put } from "../api/client";
import { accountKey, useAccount } from "../api/session";
import type { Account } from "../api/types";
import { DataTable, ErrorMessage, Field, QueryState } from "../components/ui";
import { DeleteAccountSection } from "./AccountDelete";
import { NotificationsSection } from "./AccountNotifications";
import { PasswordSection } from "./AccountPassword";
import { TwoFactorSection } from "./AccountTwoFactor";

const USAGE: [keyof Account["usage"], string][] = [
  ["agents", "Agents"],
  ["backupJobs", "Backup jobs"],
  ["destinations", "Destinations"],
  ["apiKeys", "API keys"],
  ["webhooks", "Webhooks"],
];

/** The forename and the organisation name (PUT /api/account); a blank organisation name clears it. */
function ProfileSection({ account }: { account: Account }) {
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: (form: FormData) => put<Account>("/api/account", { forename: form.get("forename"), organisationName: form.get("organisationName") }),
    onSuccess: (data) => {
      queryClient.setQueryData(accountKey, data);
      return queryClient.invalidateQueries({ queryKey: accountKey, exact: true });
    },
  });
  return (
    <section className="card" aria-labelledby="profile-heading">
      <h2 id="profile-heading">Profile</h2>
      <dl className="facts">
        <dt>Email</dt>
        <dd>{account.email}</dd>
      </dl>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate(new FormData(e.currentTarget));
        }}
      >
        <Field label="Forename" name="forename" autoComplete="given-name" defaultValue={account.forename ?? ""} maxLength={100} required />
        <Field label="Organisation name" name="organisationName" autoComplete="organization" defaultValue={account.organisationName ?? ""} maxLength={200} hint="Optional." />
        <ErrorMessage error={save.error} />
        {save.isSuccess && (
          <p role="status" className="success">
            Profile saved.
          </p>
        )}
        <button type="submit" disabled={save.isPending}>
          Save profile
        </button>
      </form>
    </section>
  );
}

export function AccountPage() {
  const account = useAccount();
  return (
    <>
      <h1>Account</h1>
      <QueryState query={account}>
        {(data) =>
          data && (
            <>
              <ProfileSection account={data} />
              <section className="card" aria-labelledby="plan-heading">
                <h2 id="plan-heading">Plan and usage</h2>
                <p>
                  You are on the <strong>{data.plan}</strong> plan: {data.limits.requestsPerMinute} API requests a minute, logs kept {data.limits.logRetentionDays} days.
                </p>
                <DataTable
                  rows={USAGE}
                  rowKey={([key]) => key}
                  columns={[
                    { header: "Resource", cell: ([, label]) => label },
                    { header: "Used", cell: ([key]) => data.usage[key] },
                    { header: "Plan limit", cell: ([key]) => (data.limits[key] === null ? "Unlimited" : data.limits[key] === 0 ? "Not in plan" : data.limits[key]) },
                  ]}
                />
              </section>
              <PasswordSection />
              <TwoFactorSection enabled={data.twoFactorEnabled} />
              <NotificationsSection />
              <DeleteAccountSection email={data.email} twoFactorEnabled={data.twoFactorEnabled} />
            </>
          )
        }
      </QueryState>
    </>
  );
}
