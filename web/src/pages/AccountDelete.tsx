import { useMutation } from "@tanstack/react-query";
import { useLocation } from "wouter";
import { del } from "../api/client";
import { type LogInNotice, useSessionActions } from "../api/session";
import { ErrorMessage, Field } from "../components/ui";

/**
 * Deletes the account for good, with the password (and a one-time code when 2FA is on) and a ticked
 * confirmation. The API ends every session and clears this browser's cookie; the log-in page says so.
 */
export function DeleteAccountSection({ email, twoFactorEnabled }: { email: string | null; twoFactorEnabled: boolean }) {
  const [, navigate] = useLocation();
  const { forget } = useSessionActions();
  const remove = useMutation({
    mutationFn: async (form: FormData) => {
      if (!form.has("confirm")) throw new Error("Tick the box to confirm that the account is to be deleted.");
      const otp = String(form.get("otp") ?? "").trim();
      return del("/api/account", { password: String(form.get("password")), otp: otp || undefined });
    },
    onSuccess: (data) => {
      const state: LogInNotice = { notice: `${data.message} Its data is gone and you are logged out.` };
      navigate("/login", { replace: true, state });
      forget();
    },
  });
  return (
    <section className="card danger-zone" aria-labelledby="delete-account-heading">
      <h2 id="delete-account-heading">Delete account</h2>
      <p>
        Deleting the account removes its agents, backup jobs, destinations, credentials, API keys, webhooks and history, and logs everyone out. Backup files
        already in your own destinations are not touched. This cannot be undone.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          remove.mutate(new FormData(e.currentTarget));
        }}
      >
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        {twoFactorEnabled && <Field label="One-time code" name="otp" autoComplete="one-time-code" required hint="From your authenticator app, or a recovery code." />}
        <label className="check">
          <input type="checkbox" name="confirm" /> Yes, delete {email ?? "this account"} and all its data
        </label>
        <ErrorMessage error={remove.error} />
        <button type="submit" className="danger" disabled={remove.isPending}>
          Delete account
        </button>
      </form>
    </section>
  );
}
