import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const backupFileRouter = createRouter()
  .openapi(routes.listBackupFiles, handlers.listBackupFiles)
  .openapi(routes.getBackupFile, handlers.getBackupFile);
