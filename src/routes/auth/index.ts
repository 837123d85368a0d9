import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

/** The public account flows: register, confirm-email, login, forgot-password, reset-password. */
export const authRouter = createRouter()
  .openapi(routes.register, handlers.register)
  .openapi(routes.confirmEmail, handlers.confirmEmail)
  .openapi(routes.login, handlers.login)
  .openapi(routes.forgotPassword, handlers.forgotPassword)
  .openapi(routes.resetPassword, handlers.resetPassword);
