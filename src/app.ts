import { requestId } from "hono/request-id";
import { createDb } from "./db/client";
import { createRouter } from "./lib/router";
import { createNotFoundHandler, handleError } from "./middleware/errors";
import { limitPerClientIp } from "./middleware/rate-limit";
import { limitBodySize, requireJsonContentType } from "./middleware/request-guards";
import { mountApiDocs } from "./routes/docs";
import { adminBugReportRouter } from "./routes/admin-bugreport";
import { bugReportRouter } from "./routes/bugreport";
import { healthRouter } from "./routes/health";
import { accountRouter } from "./routes/account";
import { adminRouter } from "./routes/admin";
import { apiKeyRouter } from "./routes/apikey";
import { authRouter } from "./routes/auth";
import { backupFileRouter } from "./routes/backupfile";
import { backupJobRouter } from "./routes/backupjob";
import { credentialRouter } from "./routes/credential";
import { destinationRouter } from "./routes/destination";
import { agentRouter } from "./routes/agent";
import { databaseRouter } from "./routes/database";
import { logRouter } from "./routes/log";
import { webhookRouter } from "./routes/webhook";
import { authSessionRouter } from "./routes/auth-session";
import { liveRouter } from "./routes/live";

export function createApp() {
  const app = createRouter();

  app.use("*", requestId({ headerName: "X-Request-Id" }));
  app.use("*", async (c, next) => {
    c.set("db", createDb(c.env.DB));
    await next();
  });
  app.use("/api/*", limitBodySize, requireJsonContentType);
  // Public endpoints: a budget per client IP each (authenticated routes are limited per subscriber in requireAuth).
  app.use("/api/auth/register", limitPerClientIp("register"));
  app.use("/api/auth/confirm-email", limitPerClientIp("confirmEmail"));
  app.use("/api/auth/forgot-password", limitPerClientIp("forgotPassword"));
  app.use("/api/auth/reset-password", limitPerClientIp("resetPassword"));
  app.use("/api/auth/login", limitPerClientIp("login"));
  app.on("POST", "/api/auth/session", limitPerClientIp("login"));
  app.use("/api/agent/register", limitPerClientIp("agentRegister"));

  app.route("/", healthRouter);
  app.route("/", authRouter);
  app.route("/", accountRouter);
  app.route("/", apiKeyRouter);
  app.route("/", adminRouter);
  app.route("/", bugReportRouter);
  app.route("/", adminBugReportRouter);
  app.route("/", credentialRouter);
  app.route("/", destinationRouter);
  app.route("/", backupJobRouter);
  app.route("/", backupFileRouter);
  app.route("/", agentRouter);
  app.route("/", databaseRouter);
  app.route("/", logRouter);
  app.route("/", webhookRouter);
  app.route("/", authSessionRouter);
  app.route("/", liveRouter);

  mountApiDocs(app);
  app.onError(handleError);
  app.notFound(createNotFoundHandler(app));
  return app;
}

export const app = createApp();
