import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

/** Restores of backup files and verification drills of jobs (issue 15). */
export const restoreRouter = createRouter()
  .openapi(routes.restoreBackupFile, handlers.restoreBackupFile)
  .openapi(routes.listRestores, handlers.listRestores)
  .openapi(routes.getRestore, handlers.getRestore)
  .openapi(routes.verifyBackupJob, handlers.verifyBackupJob)
  .openapi(routes.listVerifications, handlers.listVerifications);
