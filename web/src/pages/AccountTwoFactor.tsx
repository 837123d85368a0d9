import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { del, post } from "../api/client";
import { accountKey } from "../api/session";
import { ErrorMessage, Field } from "../components/ui";

interface TwoFactorSetup {
  secret: string;
  otpauthUrl: string;
}

const codeOf = (form: HTMLFormElement) => String(new FormData(form).get("code") ?? "").trim();

/** The API takes an authenticator's 6 digits as `code` and anything else as a `recoveryCode`. */
const turnOffProof = (code: string) => (/^\d{6}$/.test(code) ? { code } : { recoveryCode: code });

/**
 * Two-factor authentication, as GET /api/account says it is: off, the set-up flow (secret shown, confirmed
 * with a code, recovery codes shown once); on, the form that turns it off.
 */
export function TwoFactorSection({ enabled }: { enabled: boolean }) {
  const queryClient = useQueryClient();
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const refreshAccount = () => queryClient.invalidateQueries({ queryKey: accountKey, exact: true });
  const setup = useMutation({ mutationFn: () => post<TwoFactorSetup>("/api/account/2fa/setup") });
  const enable = useMutation({
    mutationFn: (code: string) => post<{ recoveryCodes: string[] }>("/api/account/2fa/enable", { code }),
    onSuccess: (data) => {
      setRecoveryCodes(data.recoveryCodes);
      setup.reset();
      disable.reset();
      return refreshAccount();
    },
  });
  const disable = useMutation({
    mutationFn: (code: string) => del("/api/account/2fa", turnOffProof(code)),
    onSuccess: () => {
      setRecoveryCodes(null);
      return refreshAccount();
    },
  });
  return (
    <section className="card" aria-labelledby="two-factor-heading">
      <h2 id="two-factor-heading">Two-factor authentication</h2>
      {recoveryCodes && (
        <div role="status">
          <p>Two-factor authentication is on. Keep these recovery codes somewhere safe; each works once, and they are not shown again.</p>
          <ul aria-label="Recovery codes">{recoveryCodes.map((c) => <li key={c}><code>{c}</code></li>)}</ul>
        </div>
      )}
      {disable.isSuccess && !enabled && <p role="status">Two-factor authentication is off.</p>}
      {enabled && (
        <form onSubmit={(e) => { e.preventDefault(); disable.mutate(codeOf(e.currentTarget)); }}>
          {!recoveryCodes && <p>Two-factor authentication is on: logging in asks for a code from your authenticator app.</p>}
          <Field label="Code to turn off" name="code" autoComplete="one-time-code" required hint="A code from your authenticator app, or a recovery code." />
          <ErrorMessage error={disable.error} />
          <button type="submit" className="danger" disabled={disable.isPending}>Turn off two-factor authentication</button>
        </form>
      )}
      {!enabled && !recoveryCodes && !setup.data && (
        <>
          <p>Turn it on to be asked for a code from an authenticator app when you log in.</p>
          <ErrorMessage error={setup.error} />
          <button type="button" onClick={() => setup.mutate()} disabled={setup.isPending}>Set up two-factor authentication</button>
        </>
      )}
      {!enabled && setup.data && (
        <form onSubmit={(e) => { e.preventDefault(); enable.mutate(codeOf(e.currentTarget)); }}>
          <p>Add this key to your authenticator app, then enter the code it shows.</p>
          <dl className="facts">
            <dt>Secret key</dt>
            <dd><code aria-label="Secret key">{setup.data.secret}</code></dd>
            <dt>Setup link</dt>
            <dd><a href={setup.data.otpauthUrl}>Open in an authenticator app</a></dd>
          </dl>
          <Field label="Code from your app" name="code" inputMode="numeric" autoComplete="one-time-code" required />
          <ErrorMessage error={enable.error} />
          <button type="submit" disabled={enable.isPending}>Turn on two-factor authentication</button>
        </form>
      )}
    </section>
  );
}
