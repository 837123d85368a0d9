import { isoUtc } from "../../lib/time";
import type { AppRouteHandler } from "../../http/types";
import * as destinations from "../../services/destination";
import type * as routes from "./routes";

const toSummary = (row: destinations.DestinationRow) => ({
  destinationId: row.id,
  name: row.name,
  type: row.type,
  agentId: row.agentId,
});

const toDetail = (row: destinations.DestinationRow) => ({
  ...toSummary(row),
  settings: row.settings,
  credentialReferenceId: row.credentialId,
  createdAt: isoUtc(row.createdAt),
  updatedAt: isoUtc(row.updatedAt),
});

export const listDestinations: AppRouteHandler<typeof routes.listDestinations> = async (c) => {
  const rows = await destinations.listDestinations(c.var.ctx);
  return c.json(rows.map(toSummary), 200);
};

export const getDestination: AppRouteHandler<typeof routes.getDestination> = async (c) => {
  const row = await destinations.getDestination(c.var.ctx, c.req.valid("param").id);
  return c.json(toDetail(row), 200);
};

export const createDestination: AppRouteHandler<typeof routes.createDestination> = async (c) => {
  const row = await destinations.createDestination(c.var.ctx, c.req.valid("json"));
  return c.json(toSummary(row), 200);
};

export const updateDestination: AppRouteHandler<typeof routes.updateDestination> = async (c) => {
  const row = await destinations.updateDestination(c.var.ctx, c.req.valid("param").id, c.req.valid("json"));
  return c.json(toDetail(row), 200);
};

export const deleteDestination: AppRouteHandler<typeof routes.deleteDestination> = async (c) => {
  await destinations.deleteDestination(c.var.ctx, c.req.valid("param").id);
  return c.json({ message: "Destination deleted." }, 200);
};
