/**
 * Writes the SDK's types from the management API's OpenAPI document: one TypeScript type per schema of
 * `components.schemas`, and `Operations`, which maps each route ("POST /projects/{project}/keys") to its path
 * parameters, query, body and success response. The SDK's calls are typed through `Operations`, so a route or field
 * that changes in the Worker breaks the SDK's type check instead of its users.
 *
 * Run by e2e/sdk-types.test.ts against the Worker's own /admin/v1/openapi.json; `npm run sdk:types` rewrites
 * sdk/openapi.ts when the document changed on purpose, and the test fails while the two differ.
 *
 * A small generator rather than openapi-typescript: that package pins TypeScript 5 as a peer dependency (keygate
 * builds with 6), and the document uses a small part of JSON Schema (objects, arrays, enums, $ref, allOf, anyOf).
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Schema = { [key: string]: Json };
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
  description?: string;
}
interface Operation {
  summary?: string;
  parameters?: Parameter[];
  requestBody?: { content?: { "application/json"?: { schema?: Schema } } };
  responses: Record<string, { content?: { "application/json"?: { schema?: Schema } } }>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const HEADER = `// Generated from the Worker's /admin/v1/openapi.json by sdk/codegen/openapi-types.ts: do not edit by hand.
// \`npm run sdk:types\` writes it again; e2e/sdk-types.test.ts fails while it differs from the Worker's document.
/* eslint-disable */
`;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const propertyName = (name: string) => (IDENTIFIER.test(name) ? name : JSON.stringify(name));

function comment(text: unknown, indent: string): string {
  if (typeof text !== "string" || text === "") return "";
  return `${indent}/** ${text.replaceAll("*/", "*\\/").replaceAll("\n", `\n${indent} * `)} */\n`;
}

/** The TypeScript type of one JSON schema, at `indent` (for nested objects). */
export function typeOf(schema: Schema | undefined, indent = ""): string {
  if (schema === undefined) return "unknown";
  if (typeof schema.$ref === "string") return schema.$ref.replace("#/components/schemas/", "");
  if (Array.isArray(schema.allOf)) return schema.allOf.map((s) => wrap(typeOf(s as Schema, indent))).join(" & ");
  const union = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(union)) return union.map((s) => typeOf(s as Schema, indent)).join(" | ");
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const types = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
  if (types.length === 0) return schema.properties ? objectType(schema, indent) : "unknown";
  return types.map((type) => singleType(String(type), schema, indent)).join(" | ");
}

const wrap = (type: string) => (type.includes("|") ? `(${type})` : type);

function singleType(type: string, schema: Schema, indent: string): string {
  switch (type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array":
      return `${wrap(typeOf(schema.items as Schema | undefined, indent))}[]`;
    case "object":
      return objectType(schema, indent);
    default:
      return "unknown";
  }
}

function objectType(schema: Schema, indent: string): string {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  const inner = `${indent}  `;
  const lines = Object.entries(properties).map(
    ([name, property]) =>
      `${comment(property.description, inner)}${inner}${propertyName(name)}${required.has(name) ? "" : "?"}: ${typeOf(property, inner)};`,
  );
  const extra = schema.additionalProperties;
  if (extra && typeof extra === "object") lines.push(`${inner}[name: string]: ${typeOf(extra as Schema, inner)};`);
  return lines.length === 0 ? "Record<string, never>" : `{\n${lines.join("\n")}\n${indent}}`;
}

function parametersType(parameters: Parameter[], where: string): string {
  const own = parameters.filter((p) => p.in === where);
  if (own.length === 0) return "{}";
  const lines = own.map(
    (p) =>
      `${comment(p.description ?? (p.schema?.description as string | undefined), "      ")}      ${propertyName(p.name)}${p.required ? "" : "?"}: ${typeOf(p.schema, "      ")};`,
  );
  return `{\n${lines.join("\n")}\n    }`;
}

function successSchema(operation: Operation): Schema | undefined {
  const status = Object.keys(operation.responses).find((code) => code.startsWith("2"));
  return status === undefined ? undefined : operation.responses[status]?.content?.["application/json"]?.schema;
}

/** The whole generated module, as text. */
export function openApiTypes(document: OpenApiDocument): string {
  const schemas = Object.entries(document.components.schemas).map(([name, schema]) => {
    const type = typeOf(schema);
    const doc = comment(schema.description, "");
    return type.startsWith("{") ? `${doc}export interface ${name} ${type}\n` : `${doc}export type ${name} = ${type};\n`;
  });
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const parameters = operation.parameters ?? [];
      const body = operation.requestBody?.content?.["application/json"]?.schema;
      return [
        comment(operation.summary, "  "),
        `  ${JSON.stringify(`${method.toUpperCase()} ${path}`)}: {\n`,
        `    path: ${parametersType(parameters, "path")};\n`,
        `    query: ${parametersType(parameters, "query")};\n`,
        `    body: ${body === undefined ? "never" : typeOf(body, "    ")};\n`,
        `    response: ${typeOf(successSchema(operation), "    ")};\n`,
        "  };\n",
      ].join("");
    }),
  );
  return `${HEADER}\n${schemas.join("\n")}\n/** Every route of the management API: its path parameters, query, body and success response. */\nexport interface Operations {\n${operations.join("")}}\n`;
}
