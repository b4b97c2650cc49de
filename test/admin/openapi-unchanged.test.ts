/**
 * The OpenAPI document the Worker serves is the one it served before keygate built it itself.
 *
 * openapi.before.json is /admin/v1/openapi.json exactly as @hono/zod-openapi 1.6.3 generated it (on host
 * https://keygate.test, as `call` sends), captured before the switch to @hono/zod-validator and z.toJSONSchema
 * (issue 13). It is a fixture: never regenerate it from the current code, or this test compares the code with itself.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers";
import before from "./openapi.before.json";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Document = { [key: string]: Json } & {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json> } & Record<string, Json>;
};

const expected = before as unknown as Document;
let served: Document;

beforeAll(async () => {
  const res = await call("/admin/v1/openapi.json");
  expect(res.status).toBe(200);
  served = (await res.json()) as Document;
});

const operations = (doc: Document) =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));

describe("the OpenAPI document, against the one @hono/zod-openapi generated", () => {
  it("has the same top level: version, info, servers, security and security schemes", () => {
    const { paths: _paths, components, ...top } = served;
    const { paths: _before, components: beforeComponents, ...beforeTop } = expected;
    expect(top).toEqual(beforeTop);
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

  it("has the same component schemas", () => {
    expect(Object.keys(served.components.schemas).sort()).toEqual(Object.keys(expected.components.schemas).sort());
    for (const [name, schema] of Object.entries(expected.components.schemas)) {
      expect(served.components.schemas[name], name).toEqual(schema);
    }
  });
});
