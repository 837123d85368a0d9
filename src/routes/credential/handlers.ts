import type { AppRouteHandler } from "../../http/types";
import * as credentials from "../../services/credential";
import type * as routes from "./routes";

const toResponse = (row: credentials.CredentialRow) => ({
  credentialReferenceId: row.id,
  name: row.name,
  type: row.type,
  agentId: row.agentId,
});

export const listCredentials: AppRouteHandler<typeof routes.listCredentials> = async (c) => {
  const rows = await credentials.listCredentials(c.var.ctx);
  return c.json(rows.map(toResponse), 200);
};

export const createCredential: AppRouteHandler<typeof routes.createCredential> = async (c) => {
  const row = await credentials.createCredential(c.var.ctx, c.req.valid("json"));
  return c.json(toResponse(row), 200);
};

export const deleteCredential: AppRouteHandler<typeof routes.deleteCredential> = async (c) => {
  await credentials.deleteCredential(c.var.ctx, c.req.valid("param").id);
  return c.json({ message: "Credential deleted." }, 200);
};
