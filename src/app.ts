import { requestId } from "hono/request-id";
import { createDb } from "./db/client";
import { BOOKMARK_HEADER, openD1Session } from "./middleware/d1-session";
import { clock } from "./lib/clock";
import { insecureConfiguration } from "./lib/environment";
import { ApiError } from "./lib/errors";
import { createRouter } from "./http/router";
import { createNotFoundHandler, handleError } from "./middleware/errors";
import { limitPublicEndpoints } from "./middleware/rate-limit";
import { logRequest } from "./middleware/request-log";
import { limitBodySize, requireJsonContentType } from "./middleware/request-guards";
import { mountApiDocs } from "./routes/docs";
import { adminBugReportRouter } from "./routes/admin-bug-report";
import { bugReportRouter } from "./routes/bug-report";
import { healthRouter } from "./routes/health";
import { installScriptRouter } from "./routes/install-script";
import { accountRouter } from "./routes/account";
import { notificationRouter } from "./routes/account/notifications";
import { adminRouter } from "./routes/admin";
import { apiKeyRouter } from "./routes/api-key";
import { authRouter } from "./routes/auth";
import { backupFileRouter } from "./routes/backup-file";
import { backupJobRouter } from "./routes/backup-job";
import { credentialRouter } from "./routes/credential";
import { destinationRouter } from "./routes/destination";
import { agentRouter } from "./routes/agent";
import { databaseRouter } from "./routes/database";
import { logRouter } from "./routes/log";
import { restoreRouter } from "./routes/restore";
import { webhookRouter } from "./routes/webhook";
import { authSessionRouter } from "./routes/auth-session";
import { liveRouter } from "./routes/live";

export function createApp() {
  const app = createRouter();

  app.use("*", requestId({ headerName: "X-Request-Id" }));
  app.use("*", logRequest);
  app.use("*", async (c, next) => {
    if (insecureConfiguration(c.env).length > 0) throw new ApiError("internal_error", "Server misconfigured; see the Worker's log.");
    await next();
  });
  app.use("*", async (c, next) => {
    // One D1 session per request, from the caller's bookmark; the response carries the newest one.
    const d1 = openD1Session(c.env.DB, { method: c.req.method, path: c.req.path, bookmark: c.req.header(BOOKMARK_HEADER) });
    c.set("d1", d1.client);
    // One instant per request; `waitUntil` is looked up only when used (app.request() in tests has no execution context).
    c.set("publicCtx", { db: createDb(d1.client), env: c.env, now: clock.now(), waitUntil: (p) => c.executionCtx.waitUntil(p) });
    await next();
    const bookmark = d1.bookmark();
    // A WebSocket upgrade's response belongs to the agent's Durable Object.
    if (bookmark && c.res.status !== 101) c.res.headers.set(BOOKMARK_HEADER, bookmark);
  });
  app.use("/api/*", limitBodySize, requireJsonContentType);
  // Public endpoints: a budget per client IP each (authenticated routes are limited per subscriber in requireAuth).
  limitPublicEndpoints(app);

  app.route("/", healthRouter);
  app.route("/", authRouter);
  app.route("/", accountRouter);
  app.route("/", notificationRouter);
  app.route("/", apiKeyRouter);
  app.route("/", adminRouter);
  app.route("/", bugReportRouter);
  app.route("/", adminBugReportRouter);
  app.route("/", credentialRouter);
  app.route("/", destinationRouter);
  app.route("/", backupJobRouter);
  app.route("/", backupFileRouter);
  app.route("/", restoreRouter);
  app.route("/", agentRouter);
  app.route("/", databaseRouter);
  app.route("/", logRouter);
  app.route("/", webhookRouter);
  app.route("/", installScriptRouter);
  app.route("/", authSessionRouter);
  app.route("/", liveRouter);

  mountApiDocs(app);
  app.onError(handleError);
  app.notFound(createNotFoundHandler(app));
  return app;
}

export const app = createApp();
