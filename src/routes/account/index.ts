import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const accountRouter = createRouter().openapi(routes.getAccount, handlers.getAccount);
