import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

/** The account flows: register, confirm-email, login, logout, resend-confirmation, forgot-password, reset-password. */
export const authRouter = createRouter()
  .openapi(routes.register, handlers.register)
  .openapi(routes.confirmEmail, handlers.confirmEmail)
  .openapi(routes.login, handlers.login)
  .openapi(routes.logout, handlers.logout)
  .openapi(routes.resendConfirmation, handlers.resendConfirmation)
  .openapi(routes.forgotPassword, handlers.forgotPassword)
  .openapi(routes.resetPassword, handlers.resetPassword);
