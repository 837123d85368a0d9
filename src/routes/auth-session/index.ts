import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

/** The dashboard's cookie session: log in and log out. */
export const authSessionRouter = createRouter().openapi(routes.startSession, handlers.startSession).openapi(routes.endSession, handlers.endSession);
