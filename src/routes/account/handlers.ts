import type { AppRouteHandler } from "../../http/types";
import * as account from "../../services/account";
import type * as routes from "./routes";

export const getAccount: AppRouteHandler<typeof routes.getAccount> = async (c) => {
  return c.json(await account.getAccount(c.var.ctx), 200);
};
