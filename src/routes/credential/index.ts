import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const credentialRouter = createRouter()
  .openapi(routes.listCredentials, handlers.listCredentials)
  .openapi(routes.createCredential, handlers.createCredential)
  .openapi(routes.deleteCredential, handlers.deleteCredential);
