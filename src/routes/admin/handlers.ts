import { setPaginationHeaders } from "../../http/pagination";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import { listOutboxEmails } from "../../services/email";
import { encryptionKeyStatus } from "../../services/secret-rotation";
import * as subscribers from "../../services/subscriber";
import type * as routes from "./routes";

export const changeSubscriberPlan: AppRouteHandler<typeof routes.changeSubscriberPlan> = async (c) => {
  const result = await subscribers.changeSubscriberPlan(
    c.var.publicCtx,
    c.req.valid("param").id,
    c.req.valid("json").plan,
  );
  return c.json(result, 200);
};

export const listOutbox: AppRouteHandler<typeof routes.listOutbox> = async (c) => {
  const { to, ...pagination } = c.req.valid("query");
  const { emails, total } = await listOutboxEmails(c.var.publicCtx, { to }, pagination);
  setPaginationHeaders(c, pagination, total);
  return c.json(
    emails.map((e) => ({ ...e, createdAt: isoUtc(e.createdAt) })),
    200,
  );
};

export const getEncryptionKeyStatus: AppRouteHandler<typeof routes.getEncryptionKeyStatus> = async (c) =>
  c.json(await encryptionKeyStatus(c.var.publicCtx), 200);
