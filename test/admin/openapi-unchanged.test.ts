/**
 * The OpenAPI document the Worker serves is the one it served before keygate built it itself.
 *
 * openapi.before.json is /admin/v1/openapi.json exactly as @hono/zod-openapi 1.6.3 generated it (on host
 * https://keygate.test, as `call` sends), captured before the switch to @hono/zod-validator and z.toJSONSchema
 * (issue 13). It is a fixture: never regenerate it from the current code, or this test compares the code with itself.
 *
 * Compared after these normalisations, applied to both documents:
 *   - key order is ignored (toEqual): JSON objects are unordered, and zod writes `default` before `type`, say;
 *   - an empty `webhooks` and an empty `components.parameters` are dropped: @hono/zod-openapi wrote both, empty;
 *     the new document has neither (it has no webhooks and no shared parameters, so they said nothing).
 * Everything else must be equal, except for CORRECTIONS below: places where the old document said less than the API
 * accepts, because @hono/zod-openapi documented a field whose schema has a transform by a hand-written type and lost
 * the rest. Each is applied to the fixture before comparing, so any other change still fails.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers";
import before from "./openapi.before.json";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: Json };
type Document = Schema & {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Schema> } & Schema;
};

const orNull = (schema: Schema): Schema => ({ ...schema, type: [schema.type as string, "null"] });
const CONDITIONS = "/components/schemas/Conditions/properties";
const LISTS = ["ip_allow", "ip_deny", "countries", "asns", "user_agents", "endpoints"];

/** JSON pointer → what the old schema there becomes. */
const CORRECTIONS: Record<string, (old: Schema) => Schema> = {
  // Each condition may be null ("absent", docs/api.md "Conditions"), and a list holds at most 256 entries
  // (MAX_LIST_ENTRIES); an ASN is 1 to 2^32 - 1. The old document had hand-written `{type: "array", items}` here.
  ...Object.fromEntries(LISTS.map((field) => [`${CONDITIONS}/${field}`, (old: Schema) => ({ ...orNull(old), maxItems: 256 })])),
  [`${CONDITIONS}/asns/items`]: (old) => ({ ...old, minimum: 1, maximum: 4294967295 }),
  [`${CONDITIONS}/not_before`]: orNull,
  [`${CONDITIONS}/not_after`]: orNull,
  // `expires_at: null` is "never expires"; the old document did not allow null.
  "/components/schemas/CreateApiKey/properties/expires_at": orNull,
  "/components/schemas/UpdateApiKey/properties/expires_at": orNull,
  "/components/schemas/CreateManagementToken/properties/expires_at": orNull,
  // `conditions: null` is no condition. The old spelling, allOf [Conditions, type object-or-null], still rejects null
  // (it must match Conditions, an object); anyOf says "Conditions or null".
  ...Object.fromEntries(
    ["CreateApiKey", "UpdateApiKey", "PolicyRuleInput"].map((name) => [
      `/components/schemas/${name}/properties/conditions`,
      () => ({ anyOf: [{ $ref: "#/components/schemas/Conditions" }, { type: "null" }] }),
    ]),
  ),
};

/**
 * What issue 14 (usage and token budgets) added to the document on purpose. Each pointer's value is taken from the
 * served document into the fixture before comparing (a pointer the fixture lacks is created): only these places may
 * differ. The new routes and schemas are listed whole, and must appear where listed.
 */
const ADDED: readonly string[] = [
  "/info/description",
  "/paths/~1projects~1{project}/delete/summary",
  "/paths/~1projects~1{project}~1applications~1{application_id}/delete/summary",
  "/components/schemas/Error/properties/error/properties/code/enum",
  ...["Deployment", "CreateDeployment", "UpdateDeployment"].flatMap((name) => [
    `/components/schemas/${name}/properties/inject_stream_usage`,
    `/components/schemas/${name}/properties/default_max_tokens`,
  ]),
  "/components/schemas/Deployment/required",
];
const ADDED_OPERATIONS: readonly string[] = [
  "POST /projects/{project}/budgets",
  "GET /projects/{project}/budgets",
  "GET /projects/{project}/budgets/{budget_id}",
  "PATCH /projects/{project}/budgets/{budget_id}",
  "DELETE /projects/{project}/budgets/{budget_id}",
  "GET /projects/{project}/usage",
];
const ADDED_SCHEMAS: readonly string[] = ["Budget", "CreateBudget", "BudgetList", "UpdateBudget", "UsageRecord", "UsageList"];

const unescape = (key: string) => key.replaceAll("~1", "/").replaceAll("~0", "~");

/** The fixture with the served document's values at the ADDED pointers. */
function withAdditions(doc: Document, served: Document): Document {
  const copy = structuredClone(doc);
  for (const pointer of ADDED) {
    const keys = pointer.split("/").slice(1).map(unescape);
    const last = keys.pop()!;
    const servedValue = [...keys, last].reduce<Json | undefined>((node, key) => (node as Schema | undefined)?.[key], served as unknown as Json);
    if (servedValue === undefined) throw new Error(`the served document has nothing at ${pointer}`);
    const parent = keys.reduce<Schema>((node, key) => (node[key] ??= {}) as Schema, copy as unknown as Schema);
    parent[last] = structuredClone(servedValue);
  }
  return copy;
}

/** The served document without the routes and schemas ADDED_OPERATIONS and ADDED_SCHEMAS name. */
function withoutNew(doc: Document): Document {
  const copy = structuredClone(doc);
  for (const id of ADDED_OPERATIONS) {
    const [method, path] = id.split(" ") as [string, string];
    const item = copy.paths[path] as Record<string, Json> | undefined;
    if (item?.[method.toLowerCase()] === undefined) throw new Error(`the served document lacks ${id}`);
    delete item[method.toLowerCase()];
    if (Object.keys(item).length === 0) delete copy.paths[path];
  }
  for (const name of ADDED_SCHEMAS) {
    if (copy.components.schemas[name] === undefined) throw new Error(`the served document lacks the schema ${name}`);
    delete copy.components.schemas[name];
  }
  return copy;
}

function normalised(doc: Document): Document {
  const copy = structuredClone(doc);
  if (JSON.stringify(copy.webhooks) === "{}") delete copy.webhooks;
  if (JSON.stringify(copy.components.parameters) === "{}") delete copy.components.parameters;
  return copy;
}

function corrected(doc: Document): Document {
  const copy = normalised(doc);
  for (const [pointer, correct] of Object.entries(CORRECTIONS)) {
    const keys = pointer.split("/").slice(1);
    const last = keys.pop()!;
    const parent = keys.reduce<Json>((node, key) => (node as Schema)[key]!, copy as unknown as Json) as Schema;
    if (parent[last] === undefined) throw new Error(`no ${pointer} in the fixture`);
    parent[last] = correct(parent[last] as Schema);
  }
  return copy;
}

let expected: Document;
let served: Document;

beforeAll(async () => {
  const res = await call("/admin/v1/openapi.json");
  expect(res.status).toBe(200);
  const document = normalised((await res.json()) as Document);
  expected = withAdditions(corrected(before as unknown as Document), document);
  served = withoutNew(document);
});

const operations = (doc: Document) =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));

describe("the OpenAPI document, against the one @hono/zod-openapi generated", () => {
  it("has the same top level: version, info, servers, security and security schemes", () => {
    const { paths: _paths, components, ...top } = served;
    const { paths: _before, components: beforeComponents, ...beforeTop } = expected;
    expect(top).toEqual(beforeTop);
    expect(Object.keys(components).sort()).toEqual(Object.keys(beforeComponents).sort());
    expect(components.securitySchemes).toEqual(beforeComponents.securitySchemes);
  });

  it("has the same paths and methods, in the same order", () => {
    expect(operations(served)).toEqual(operations(expected));
  });

  it("describes each operation the same: tags, summary, parameters, request body, responses", () => {
    for (const [path, item] of Object.entries(expected.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect(served.paths[path]?.[method], `${method.toUpperCase()} ${path}`).toEqual(operation);
      }
    }
  });

  it("has the same component schemas, in the same order (the order /admin/docs lists them in)", () => {
    expect(Object.keys(served.components.schemas)).toEqual(Object.keys(expected.components.schemas));
    for (const [name, schema] of Object.entries(expected.components.schemas)) {
      expect(served.components.schemas[name], name).toEqual(schema);
    }
  });
});
