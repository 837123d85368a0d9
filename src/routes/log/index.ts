import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const logRouter = createRouter().openapi(routes.listLogs, handlers.listLogs);
