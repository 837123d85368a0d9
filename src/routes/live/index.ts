import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

/** The dashboard's live feed. */
export const liveRouter = createRouter().openapi(routes.openLiveFeed, handlers.openLiveFeed);
