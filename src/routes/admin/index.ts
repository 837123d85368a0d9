import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

/** The operator API of issue 2 (ADMIN_TOKEN): plans, the email outbox and the encryption key's rotation. */
export const adminRouter = createRouter()
  .openapi(routes.changeSubscriberPlan, handlers.changeSubscriberPlan)
  .openapi(routes.listOutbox, handlers.listOutbox)
  .openapi(routes.getEncryptionKeyStatus, handlers.getEncryptionKeyStatus);
