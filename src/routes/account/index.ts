import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const accountRouter = createRouter()
  .openapi(routes.getAccount, handlers.getAccount)
  .openapi(routes.updateAccount, handlers.updateAccount)
  .openapi(routes.changePassword, handlers.changePassword)
  .openapi(routes.deleteAccount, handlers.deleteAccount)
  .openapi(routes.setUpTwoFactor, handlers.setUpTwoFactor)
  .openapi(routes.enableTwoFactor, handlers.enableTwoFactor)
  .openapi(routes.disableTwoFactor, handlers.disableTwoFactor);
