/**
 * Every response a test receives through `api()` must be one the OpenAPI document promises: the
 * operation (path + method) documents the status, and a JSON body validates against that status's
 * schema. So a route whose schema drifts from what its handler sends fails CI, not a customer's client.
 *
 * Requests that match no documented operation (unknown paths, /docs, the document itself, the agent's
 * WebSocket upgrade) are not checked: there is nothing to check them against.
 */
import { type Schema, Validator } from "@cfworker/json-schema";
import { exports } from "cloudflare:workers";

type MediaTypes = Record<string, { schema?: Schema }>;
type Operation = { responses: Record<string, { content?: MediaTypes }> };
type OpenApiDocument = { paths: Record<string, Record<string, Operation>>; components?: Record<string, unknown> };
type Route = { pattern: RegExp; templated: number; operations: Record<string, Operation> };

let loaded: Promise<{ doc: OpenApiDocument; routes: Route[] }> | undefined;
const validators = new Map<Schema, Validator>();

function loadDocument() {
  loaded ??= (async () => {
    const res = await exports.default.fetch(new Request("http://localhost/api/openapi.json"));
    const doc = await res.json<OpenApiDocument>();
    const routes = Object.entries(doc.paths).map(([path, operations]) => ({
      pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`),
      templated: (path.match(/\{/g) ?? []).length,
      operations,
    }));
    // A literal path (/api/agent/register) wins over a template that also matches it (/api/agent/{id}).
    routes.sort((a, b) => a.templated - b.templated);
    return { doc, routes };
  })();
  return loaded;
}

function validatorFor(doc: OpenApiDocument, schema: Schema): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    // The components ride along so `#/components/schemas/…` references resolve against this root.
    validator = new Validator({ allOf: [schema], components: doc.components } as Schema, "2020-12", false);
    validators.set(schema, validator);
  }
  return validator;
}

/** Throws, naming the operation, when `response` to `request` is not what the OpenAPI document says. */
export async function assertDocumentedResponse(request: Request, response: Response): Promise<void> {
  const { doc, routes } = await loadDocument();
  const { pathname } = new URL(request.url);
  const method = request.method.toLowerCase();
  const operation = routes.find((r) => r.pattern.test(pathname) && r.operations[method])?.operations[method];
  if (!operation) return;
  const where = `${request.method} ${pathname} → ${response.status}`;
  const documented = operation.responses[String(response.status)] ?? operation.responses.default;
  if (!documented) {
    throw new Error(`OpenAPI drift: ${where} is not a documented response (documented: ${Object.keys(operation.responses).join(", ")}).`);
  }
  const contentType = response.headers.get("content-type")?.split(";")[0].trim() ?? "";
  if (contentType !== "application/json") return;
  const schema = documented.content?.["application/json"]?.schema;
  if (!schema) throw new Error(`OpenAPI drift: ${where} sends JSON but the document declares no JSON body for it.`);
  const body: unknown = await response.clone().json();
  const result = validatorFor(doc, schema).validate(body);
  if (!result.valid) {
    const errors = result.errors.map((e) => `${e.instanceLocation} ${e.error}`).join("; ");
    throw new Error(`OpenAPI drift: ${where} body does not match the document: ${errors}\nbody: ${JSON.stringify(body).slice(0, 500)}`);
  }
}
