import { createRoute, z } from "@hono/zod-openapi";
import { MessageSchema, errorResponses, jsonBody, jsonResponse } from "../../http/router";
import { authenticated } from "../../middleware/auth";
import { CreateDestinationSchema, DestinationIdParams, DestinationSchema, DestinationSummarySchema, UpdateDestinationSchema } from "./schemas";

const tags = ["Destinations"];

export const listDestinations = createRoute({
  operationId: "listDestinations",
  method: "get",
  path: "/api/destination",
  tags,
  summary: "List backup destinations",
  ...authenticated,
  responses: { 200: jsonResponse(z.array(DestinationSummarySchema), "Destination list returned"), ...errorResponses(401) },
});

export const getDestination = createRoute({
  operationId: "getDestination",
  method: "get",
  path: "/api/destination/{id}",
  tags,
  summary: "One destination with its settings",
  ...authenticated,
  request: { params: DestinationIdParams },
  responses: { 200: jsonResponse(DestinationSchema, "Destination returned"), ...errorResponses(401, 404) },
});

export const createDestination = createRoute({
  operationId: "createDestination",
  method: "post",
  path: "/api/destination",
  tags,
  summary: "Create a destination; settings are validated per type",
  ...authenticated,
  request: { body: jsonBody(CreateDestinationSchema) },
  responses: {
    200: jsonResponse(DestinationSummarySchema, "Destination created"),
    ...errorResponses(400, 401, 403),
  },
});

export const updateDestination = createRoute({
  operationId: "updateDestination",
  method: "put",
  path: "/api/destination/{id}",
  tags,
  summary: "Update a destination (only the fields sent change); jobs using it are re-synced",
  ...authenticated,
  request: { params: DestinationIdParams, body: jsonBody(UpdateDestinationSchema) },
  responses: { 200: jsonResponse(DestinationSchema, "Destination updated"), ...errorResponses(400, 401, 404) },
});

export const deleteDestination = createRoute({
  operationId: "deleteDestination",
  method: "delete",
  path: "/api/destination/{id}",
  tags,
  summary: "Delete a destination (refused while a backup job uses it)",
  ...authenticated,
  request: { params: DestinationIdParams },
  responses: { 200: jsonResponse(MessageSchema, "Destination deleted"), ...errorResponses(400, 401, 404) },
});
