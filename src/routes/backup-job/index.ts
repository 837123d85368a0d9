import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const backupJobRouter = createRouter()
  .openapi(routes.listBackupJobs, handlers.listBackupJobs)
  .openapi(routes.getBackupJob, handlers.getBackupJob)
  .openapi(routes.createBackupJob, handlers.createBackupJob)
  .openapi(routes.updateBackupJob, handlers.updateBackupJob)
  .openapi(routes.deleteBackupJob, handlers.deleteBackupJob)
  .openapi(routes.runBackupJob, handlers.runBackupJob)
  .openapi(routes.backupJobHistory, handlers.backupJobHistory);
