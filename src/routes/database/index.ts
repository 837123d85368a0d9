import { createRouter } from "../../lib/router";
import { listDatabasesHandler } from "./handlers";
import { listDatabases } from "./routes";

export const databaseRouter = createRouter().openapi(listDatabases, listDatabasesHandler);
