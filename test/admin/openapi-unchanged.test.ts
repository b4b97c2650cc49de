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

const expected = corrected(before as unknown as Document);
let served: Document;

beforeAll(async () => {
  const res = await call("/admin/v1/openapi.json");
  expect(res.status).toBe(200);
  served = normalised((await res.json()) as Document);
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
