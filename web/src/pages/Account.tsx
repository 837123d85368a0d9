import { useAccount } from "../api/session";
import type { Account } from "../api/types";
import { DataTable, QueryState } from "../components/ui";
import { NotificationsSection } from "./AccountNotifications";
import { TwoFactorSection } from "./AccountTwoFactor";

const USAGE: [keyof Account["usage"], string][] = [
  ["agents", "Agents"],
  ["backupJobs", "Backup jobs"],
  ["destinations", "Destinations"],
  ["apiKeys", "API keys"],
  ["webhooks", "Webhooks"],
];

/** A section whose API is not there yet (Account self-service, API.md Release 2): said plainly, not faked. */
function ComingSoon({ title, children }: { title: string; children: string }) {
  return (
    <section className="card" aria-labelledby={`${title}-heading`}>
      <h2 id={`${title}-heading`}>{title}</h2>
      <p className="muted">{children}</p>
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
              <section className="card" aria-labelledby="profile-heading">
                <h2 id="profile-heading">Profile</h2>
                <dl className="facts">
                  <dt>Forename</dt>
                  <dd>{data.forename}</dd>
                  <dt>Email</dt>
                  <dd>{data.email}</dd>
                  <dt>Organisation</dt>
                  <dd>{data.organisationName ?? "—"}</dd>
                </dl>
                {/* Slot: edit forename and organisation (PUT /api/account). */}
              </section>
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
              <ComingSoon title="Password">Changing your password here is coming soon. Until then, use “Forgot your password?” on the log-in page.</ComingSoon>
              <TwoFactorSection />
              <NotificationsSection />
              <ComingSoon title="Delete account">Deleting your account from the dashboard is coming soon; until then, contact support.</ComingSoon>
            </>
          )
        }
      </QueryState>
    </>
  );
}
