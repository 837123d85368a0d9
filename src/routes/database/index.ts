import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const databaseRouter = createRouter().openapi(routes.listDatabases, handlers.listDatabases);
