import { clock } from "../../lib/clock";
import { forbidden } from "../../lib/errors";
import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../lib/types";
import * as apiKeys from "../../services/api-keys";
import type * as routes from "./routes";

export const listApiKeys: AppRouteHandler<typeof routes.listApiKeys> = async (c) => {
  const rows = await apiKeys.listApiKeys({ db: c.var.db, subscriberId: c.var.auth.subscriberId });
  return c.json(
    rows.map((k) => ({ ...k, createdAt: isoUtc(k.createdAt), lastUsedAt: isoUtc(k.lastUsedAt) })),
    200,
  );
};

export const createApiKey: AppRouteHandler<typeof routes.createApiKey> = async (c) => {
  const { subscriberId, plan, userId, via } = c.var.auth;
  // A leaked key must not be able to mint more keys that outlive its revocation.
  if (via !== "jwt") throw forbidden("API keys can only be created from a login session, not with an API key.");
  const created = await apiKeys.createApiKey(
    { db: c.var.db, env: c.env, subscriberId, now: clock.now(), waitUntil: (p) => c.executionCtx.waitUntil(p) },
    { plan, userId, name: c.req.valid("json").name },
  );
  const { apiKeyId, name, key, prefix, createdAt } = created;
  return c.json({ apiKeyId, name, key, prefix, createdAt: isoUtc(createdAt) }, 200);
};

export const revokeApiKey: AppRouteHandler<typeof routes.revokeApiKey> = async (c) => {
  await apiKeys.revokeApiKey(
    { db: c.var.db, env: c.env, subscriberId: c.var.auth.subscriberId, now: clock.now() },
    c.req.valid("param").id,
  );
  return c.json({ message: "API key revoked." }, 200);
};
