import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { useHistoryState } from "wouter/use-browser-location";
import { ApiError, post } from "../api/client";
import { type LogInNotice, useSessionActions } from "../api/session";
import { ErrorMessage, Field, Loading } from "../components/ui";

const formValues = (event: FormEvent<HTMLFormElement>) => Object.fromEntries(new FormData(event.currentTarget)) as Record<string, string>;

export function SignUpPage() {
  const signUp = useMutation({
    mutationFn: (body: Record<string, string>) =>
      post<{ message: string }>("/api/auth/register", { ...body, organisationName: body.organisationName || undefined }),
  });
  return (
    <section className="card narrow">
      <h1>Create your DataSync account</h1>
      {signUp.isSuccess ? (
        <p role="status" className="success">
          {signUp.data.message}
        </p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            signUp.mutate(formValues(e));
          }}
        >
          <Field label="Forename" name="forename" autoComplete="given-name" required />
          <Field label="Email" name="email" type="email" autoComplete="email" required />
          <Field label="Password" name="password" type="password" autoComplete="new-password" minLength={10} required hint="At least 10 characters; not a common password." />
          <Field label="Organisation name" name="organisationName" autoComplete="organization" hint="Optional." />
          <ErrorMessage error={signUp.error} />
          <button type="submit" disabled={signUp.isPending}>
            Sign up
          </button>
        </form>
      )}
      <p>
        Already have an account? <Link href="/login">Log in</Link>
      </p>
    </section>
  );
}

export function LogInPage() {
  const [, navigate] = useLocation();
  // Set by the page that sent the user here (after deleting the account).
  const notice = useHistoryState<LogInNotice | null>()?.notice;
  const { logIn } = useSessionActions();
  // Shown once the API says this account has two-factor authentication on (code otp_required).
  const [needsCode, setNeedsCode] = useState(false);
  const login = useMutation({
    mutationFn: (body: Record<string, string>) => logIn({ email: body.email, password: body.password, otp: body.otp || undefined }),
    onSuccess: () => navigate("/"),
    onError: (err) => {
      if (err instanceof ApiError && err.code === "otp_required") setNeedsCode(true);
    },
  });
  return (
    <section className="card narrow">
      <h1>Log in to DataSync</h1>
      {notice && (
        <p role="status" className="success">
          {notice}
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          login.mutate(formValues(e));
        }}
      >
        <Field label="Email" name="email" type="email" autoComplete="email" required />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        {needsCode && <Field label="One-time code" name="otp" inputMode="numeric" autoComplete="one-time-code" required hint="From your authenticator app, or a recovery code." />}
        <ErrorMessage error={login.error} />
        <button type="submit" disabled={login.isPending}>
          Log in
        </button>
      </form>
      <p>
        <Link href="/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New to DataSync? <Link href="/signup">Create an account</Link>
      </p>
    </section>
  );
}

export function ForgotPasswordPage() {
  const request = useMutation({ mutationFn: (email: string) => post<{ message: string }>("/api/auth/forgot-password", { email }) });
  return (
    <section className="card narrow">
      <h1>Reset your password</h1>
      {request.isSuccess ? (
        <p role="status" className="success">
          {request.data.message}
        </p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            request.mutate(formValues(e).email);
          }}
        >
          <Field label="Email" name="email" type="email" autoComplete="email" required />
          <ErrorMessage error={request.error} />
          <button type="submit" disabled={request.isPending}>
            Send reset link
          </button>
        </form>
      )}
      <p>
        <Link href="/login">Back to log in</Link>
      </p>
    </section>
  );
}

const useToken = () => new URLSearchParams(useSearch()).get("token") ?? "";

export function ResetPasswordPage() {
  const token = useToken();
  const reset = useMutation({ mutationFn: (password: string) => post<{ message: string }>("/api/auth/reset-password", { token, password }) });
  return (
    <section className="card narrow">
      <h1>Choose a new password</h1>
      {reset.isSuccess ? (
        <p role="status" className="success">
          {reset.data.message} <Link href="/login">Log in</Link>
        </p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            reset.mutate(formValues(e).password);
          }}
        >
          <Field label="New password" name="password" type="password" autoComplete="new-password" minLength={10} required hint="At least 10 characters; not a common password." />
          <ErrorMessage error={reset.error} />
          <button type="submit" disabled={reset.isPending || !token}>
            Set new password
          </button>
          {!token && <p className="error">This link has no token: open the link from the email again.</p>}
        </form>
      )}
    </section>
  );
}

/** Confirmations in flight by token: a token works once, so a re-render must not send it twice. */
const confirmations = new Map<string, Promise<string>>();
const confirmOnce = (token: string) => {
  if (!confirmations.has(token)) confirmations.set(token, post<{ message: string }>("/api/auth/confirm-email", { token }).then((r) => r.message));
  return confirmations.get(token)!;
};

export function ConfirmEmailPage() {
  const token = useToken();
  const [result, setResult] = useState<{ message?: string; error?: unknown }>({});
  useEffect(() => {
    if (!token) return setResult({ error: new Error("This link has no token: open the link from the email again.") });
    confirmOnce(token).then(
      (message) => setResult({ message }),
      (error) => setResult({ error }),
    );
  }, [token]);
  return (
    <section className="card narrow">
      <h1>Confirm your email</h1>
      {!result.message && !result.error && <Loading what="Confirming your email address…" />}
      {result.message && (
        <p role="status" className="success">
          {result.message}
        </p>
      )}
      <ErrorMessage error={result.error} />
      <p>
        <Link href="/login">Log in</Link>
      </p>
    </section>
  );
}
