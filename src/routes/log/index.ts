import { createRouter } from "../../lib/router";
import { listLogsHandler } from "./handlers";
import { listLogs } from "./routes";

export const logRouter = createRouter().openapi(listLogs, listLogsHandler);
