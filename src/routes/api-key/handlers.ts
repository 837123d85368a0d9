import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import * as apiKeys from "../../services/api-key";
import type * as routes from "./routes";

export const listApiKeys: AppRouteHandler<typeof routes.listApiKeys> = async (c) => {
  const rows = await apiKeys.listApiKeys(c.var.ctx);
  return c.json(
    rows.map((k) => ({ ...k, createdAt: isoUtc(k.createdAt), lastUsedAt: isoUtc(k.lastUsedAt) })),
    200,
  );
};

export const createApiKey: AppRouteHandler<typeof routes.createApiKey> = async (c) => {
  const created = await apiKeys.createApiKey(c.var.ctx, c.req.valid("json").name);
  const { apiKeyId, name, key, prefix, createdAt } = created;
  return c.json({ apiKeyId, name, key, prefix, createdAt: isoUtc(createdAt) }, 200);
};

export const revokeApiKey: AppRouteHandler<typeof routes.revokeApiKey> = async (c) => {
  await apiKeys.revokeApiKey(
    c.var.ctx,
    c.req.valid("param").id,
  );
  return c.json({ message: "API key revoked." }, 200);
};
