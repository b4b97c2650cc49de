/**
 * The OpenAPI 3.1 document of the management API, built from the routes' declarations (route.ts) with zod's own
 * z.toJSONSchema: the schemas that validate a request are the ones it documents.
 *
 * A schema named with `.meta({ id })` is a component, referenced as `#/components/schemas/<id>`; every request body
 * and response must be one. Schemas describe what a client sends (zod's "input" side: a field with a default is
 * optional, a transform is documented by what it accepts).
 */
import * as z from "zod";
import type { Method, RouteSpec } from "./route";

type JsonSchema = z.core.JSONSchema.BaseSchema;

const COMPONENTS = "#/components/schemas/";

/**
 * What an absent field means, even where a transform follows (`method` defaults to "POST" before it is upper-cased):
 * zod leaves such a default out of the input side, as its value is the transform's output.
 */
function keepDefault({ zodSchema, jsonSchema }: { zodSchema: z.core.$ZodTypes; jsonSchema: JsonSchema }): void {
  const def = zodSchema._zod.def;
  if (def.type === "default" && jsonSchema.default === undefined) jsonSchema.default = def.defaultValue as JsonSchema["default"];
}

/** Calls `visit` on `schema` and on every schema in it, innermost first. */
function eachSchema(schema: JsonSchema, visit: (schema: JsonSchema) => void): void {
  const children = [schema.items, schema.additionalProperties, schema.propertyNames, schema.not, schema.anyOf, schema.allOf, schema.oneOf]
    .concat(Object.values(schema.properties ?? {}))
    .flat();
  for (const child of children) if (child !== null && typeof child === "object") eachSchema(child as JsonSchema, visit);
  visit(schema);
}

/**
 * The few places where zod's spelling differs from the one this document has always used (@hono/zod-openapi's); each
 * pair says the same thing. Applied to finished JSON, not in zod's `override`, which can run on a nullable before
 * the schema inside it is complete.
 */
function openApiSpelling(json: JsonSchema): void {
  // A literal as a one-value `enum`: code generators that read OpenAPI 3.0 know `enum`, not `const`.
  if (json.const !== undefined) {
    json.enum = [json.const];
    delete json.const;
  }
  // A nullable inline schema as `{"type": ["string", "null"], "maxLength": 64}`, not an anyOf of it and
  // `{"type": "null"}` (an enum lists null too). A nullable component keeps the anyOf: a $ref takes no siblings.
  const [inner, nul, ...more] = (json.anyOf ?? []) as JsonSchema[];
  if (inner && typeof inner.type === "string" && nul?.type === "null" && Object.keys(nul).length === 1 && more.length === 0) {
    delete json.anyOf;
    Object.assign(json, { ...inner, ...json, type: [inner.type, "null"] }, inner.enum ? { enum: [...inner.enum, null] } : {});
  }
  // zod's int() is a safe integer, and says so with bounds of ±(2^53 - 1): `integer` alone, as every client reads it.
  if (json.type === "integer" && json.minimum === Number.MIN_SAFE_INTEGER) delete json.minimum;
  if (json.type === "integer" && json.maximum === Number.MAX_SAFE_INTEGER) delete json.maximum;
  // A JSON object's keys are strings whatever the schema says.
  const names = json.propertyNames as JsonSchema | undefined;
  if (names && Object.keys(names).length === 1 && names.type === "string") delete json.propertyNames;
}

const respell = (schema: JsonSchema) => eachSchema(schema, openApiSpelling);

const convert = { io: "input", override: keepDefault } as const;

/** A body or response schema as a reference to its component. */
function ref(schema: z.ZodType, what: string): JsonSchema {
  const id = z.globalRegistry.get(schema)?.id;
  if (typeof id !== "string") throw new Error(`${what}: name its schema with .meta({ id }) to make it a component`);
  return { $ref: `${COMPONENTS}${id}` };
}

/** One parameter per property of `object`, its description repeated where OpenAPI tools show it. */
function parameters(location: "path" | "query", object: z.ZodObject | undefined) {
  if (!object) return [];
  const { properties = {}, required = [], $defs } = z.toJSONSchema(object, convert);
  if ($defs) throw new Error(`a ${location} parameter cannot be a component: ${Object.keys($defs).join(", ")}`);
  return Object.entries(properties).map(([name, schema]) => {
    respell(schema as JsonSchema);
    const { description } = schema as JsonSchema;
    return { schema, required: required.includes(name), ...(description === undefined ? {} : { description }), name, in: location };
  });
}

function operation(spec: RouteSpec) {
  const what = `${spec.method.toUpperCase()} ${spec.path}`;
  const { param, query, json } = spec.request ?? {};
  const params = [...parameters("path", param), ...parameters("query", query)];
  const content = (schema: z.ZodType, part: string) => ({ "application/json": { schema: ref(schema, `${what}, ${part}`) } });
  return {
    tags: spec.tags,
    summary: spec.summary,
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(json ? { requestBody: { required: true, content: content(json, "body") } } : {}),
    responses: Object.fromEntries(
      Object.entries(spec.responses).map(([status, r]) => [status, { description: r.description, content: content(r.schema, status) }]),
    ),
  };
}

type Operation = ReturnType<typeof operation>;

/**
 * The components the operations reference, directly or through one another, each listed where it is first met
 * (an operation's responses, then its body): the order the schema section of /admin/docs shows them in.
 */
function referenced(paths: Record<string, Partial<Record<Method, Operation>>>, all: Record<string, JsonSchema>) {
  const used: Record<string, JsonSchema> = {};
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === "object") {
      const target = (value as JsonSchema).$ref;
      if (typeof target === "string" && target.startsWith(COMPONENTS)) {
        const id = target.slice(COMPONENTS.length);
        if (!(id in used) && all[id]) {
          used[id] = all[id];
          visit(all[id]);
        }
      }
      Object.values(value).forEach(visit);
    }
  };
  for (const item of Object.values(paths)) for (const op of Object.values(item)) visit([op.responses, op.requestBody]);
  return used;
}

export interface DocumentHead {
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  security: Record<string, string[]>[];
  securitySchemes: Record<string, object>;
}

export function openApiDocument(specs: readonly RouteSpec[], { info, servers, security, securitySchemes }: DocumentHead) {
  const paths: Record<string, Partial<Record<Method, Operation>>> = {};
  for (const spec of specs) (paths[spec.path] ??= {})[spec.method] = operation(spec);
  // Every named schema at once, so one that another names is a $ref to its component rather than a copy.
  const { schemas } = z.toJSONSchema(z.globalRegistry, { ...convert, uri: (id) => `${COMPONENTS}${id}` });
  const all = Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]));
  Object.values(all).forEach(respell);
  return { openapi: "3.1.0", info, servers, security, components: { securitySchemes, schemas: referenced(paths, all) }, paths };
}
