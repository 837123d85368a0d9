import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Link, Redirect, Route, Switch, useLocation } from "wouter";
import { setUnauthorizedHandler } from "./api/client";
import { accountKey, useAccount } from "./api/session";
import { Layout } from "./components/Layout";
import { Loading } from "./components/ui";
import { AccountPage } from "./pages/Account";
import { AgentPage, AgentsPage } from "./pages/Agents";
import { ApiKeysPage } from "./pages/ApiKeys";
import { ConfirmEmailPage, ForgotPasswordPage, LogInPage, ResetPasswordPage, SignUpPage } from "./pages/Auth";
import { BackupFilesPage } from "./pages/BackupFiles";
import { BackupJobPage } from "./pages/BackupJob";
import { BackupJobFormPage } from "./pages/BackupJobForm";
import { BackupJobsPage } from "./pages/BackupJobs";
import { BugReportsPage } from "./pages/BugReports";
import { CredentialsPage } from "./pages/Credentials";
import { DestinationsPage } from "./pages/Destinations";
import { LogsPage } from "./pages/Logs";
import { OverviewPage } from "./pages/Overview";
import { WebhookPage, WebhooksPage } from "./pages/Webhooks";

/** Pages a visitor without a session can open (the links in emails land on two of them). */
function PublicRoutes() {
  return (
    <Switch>
      <Route path="/signup" component={SignUpPage} />
      <Route path="/login" component={LogInPage} />
      <Route path="/forgot-password" component={ForgotPasswordPage} />
      <Route path="/reset-password" component={ResetPasswordPage} />
      <Route path="/confirm-email" component={ConfirmEmailPage} />
    </Switch>
  );
}

const PUBLIC_PATHS = ["/signup", "/login", "/forgot-password", "/reset-password", "/confirm-email"];

export function App() {
  const [location, navigate] = useLocation();
  const account = useAccount();
  const queryClient = useQueryClient();

  useEffect(() => {
    setUnauthorizedHandler(() => {
      queryClient.setQueryData(accountKey, null);
      // On the public pages a missing session is expected; elsewhere it means "log in again".
      if (!PUBLIC_PATHS.includes(window.location.pathname)) navigate("/login");
    });
  }, [queryClient, navigate]);

  if (PUBLIC_PATHS.includes(location)) {
    return (
      <main id="main" className="auth-page">
        <Link href="/" className="brand">
          DataSync
        </Link>
        <PublicRoutes />
      </main>
    );
  }
  if (account.isPending) return <Loading what="Loading DataSync…" />;
  if (!account.data) return <Redirect to="/login" />;
  return (
    <Layout account={account.data}>
      <Switch>
        <Route path="/" component={OverviewPage} />
        <Route path="/agents" component={AgentsPage} />
        <Route path="/agents/:id">{(params) => <AgentPage agentId={params.id} />}</Route>
        <Route path="/jobs" component={BackupJobsPage} />
        <Route path="/jobs/new">{() => <BackupJobFormPage />}</Route>
        <Route path="/jobs/:id/edit">{(params) => <BackupJobFormPage backupJobId={params.id} />}</Route>
        <Route path="/jobs/:id">{(params) => <BackupJobPage backupJobId={params.id} />}</Route>
        <Route path="/destinations" component={DestinationsPage} />
        <Route path="/credentials" component={CredentialsPage} />
        <Route path="/files" component={BackupFilesPage} />
        <Route path="/logs" component={LogsPage} />
        <Route path="/webhooks" component={WebhooksPage} />
        <Route path="/webhooks/:id">{(params) => <WebhookPage webhookId={params.id} />}</Route>
        <Route path="/api-keys" component={ApiKeysPage} />
        <Route path="/account" component={AccountPage} />
        <Route path="/bug-reports" component={BugReportsPage} />
        <Route>
          <h1>Page not found</h1>
          <p>
            There is nothing at this address. <Link href="/">Go to the overview</Link>.
          </p>
        </Route>
      </Switch>
    </Layout>
  );
}
