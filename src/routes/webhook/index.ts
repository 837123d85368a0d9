import { createRouter } from "../../http/router";
import * as handlers from "./handlers";
import * as routes from "./routes";

export const webhookRouter = createRouter()
  .openapi(routes.listWebhooks, handlers.listWebhooks)
  .openapi(routes.createWebhook, handlers.createWebhook)
  .openapi(routes.updateWebhook, handlers.updateWebhook)
  .openapi(routes.deleteWebhook, handlers.deleteWebhook)
  .openapi(routes.testWebhook, handlers.testWebhook)
  .openapi(routes.listDeliveries, handlers.listDeliveries);
