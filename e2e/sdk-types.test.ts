// The SDK's types (sdk/openapi.ts) are generated from the Worker's own OpenAPI document: this test generates them again
// from the running Worker and fails while the two differ, so a route or field that changed in the Worker cannot ship
// with stale SDK types. `npm run sdk:types` (this file with --update) rewrites sdk/openapi.ts after a change made on
// purpose. In CI (CI=true) Vitest never writes a snapshot, so a mismatch fails there instead of being rewritten.
import { afterAll, beforeAll, expect, it } from "vitest";
import { openApiTypes, type OpenApiDocument } from "../sdk/codegen/openapi-types.ts";
import { type Keygate, startKeygate } from "./lib/keygate.ts";

let keygate: Keygate;

beforeAll(async () => {
  keygate = await startKeygate();
});

afterAll(async () => {
  await keygate?.stop();
});

const fetchDocument = async (): Promise<OpenApiDocument> => {
  const res = await fetch(`${keygate.url}/admin/v1/openapi.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as OpenApiDocument;
};

it("sdk/openapi.ts is what the Worker's /admin/v1/openapi.json generates", async () => {
  await expect(openApiTypes(await fetchDocument())).toMatchFileSnapshot("../sdk/openapi.ts");
});

it("the generated text depends on the document alone, not on the host it was served from", async () => {
  // `servers` carries the request's origin (this run's port): the types must not, or every run would differ.
  const document = await fetchDocument();
  const elsewhere = { ...document, servers: [{ url: "https://keygate.example.com/admin/v1" }] } as OpenApiDocument;
  expect(openApiTypes(elsewhere)).toBe(openApiTypes(document));
  expect(openApiTypes(document)).toBe(openApiTypes(await fetchDocument()));
});
