import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const destinationRouter = createRouter()
  .openapi(routes.listDestinations, handlers.listDestinations)
  .openapi(routes.getDestination, handlers.getDestination)
  .openapi(routes.createDestination, handlers.createDestination)
  .openapi(routes.updateDestination, handlers.updateDestination)
  .openapi(routes.deleteDestination, handlers.deleteDestination);
