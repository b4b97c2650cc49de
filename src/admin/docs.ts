/**
 * /admin/docs — a readable API reference rendered on the server from the same OpenAPI document as
 * /admin/v1/openapi.json, so it cannot drift. No script and no CDN: it works offline and under a strict CSP.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Json }[];
  requestBody?: { content?: Record<string, { schema?: Json }> };
  responses?: Record<string, { description?: string }>;
}
interface Document {
  info: { title: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Json> };
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

function schemaLink(schema: Json | undefined): string {
  if (schema && typeof schema === "object" && !Array.isArray(schema) && typeof schema.$ref === "string") {
    const name = schema.$ref.split("/").pop() ?? "";
    return `<a href="#schema-${escape(name)}">${escape(name)}</a>`;
  }
  return `<code>${escape(JSON.stringify(schema ?? {}))}</code>`;
}

function operationHtml(method: string, path: string, op: Operation): string {
  const params = (op.parameters ?? [])
    .map((p) => `<li><code>${escape(p.name)}</code> (${escape(p.in)}${p.required ? ", required" : ""})</li>`)
    .join("");
  const body = op.requestBody?.content?.["application/json"]?.schema;
  const responses = Object.entries(op.responses ?? {})
    .map(([status, r]) => `<li><b>${escape(status)}</b> ${escape(r.description ?? "")}</li>`)
    .join("");
  return `<section class="op"><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>
<p>${escape(op.summary ?? "")}</p>
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ""}
${body ? `<h4>Body</h4><p>${schemaLink(body)}</p>` : ""}
<h4>Responses</h4><ul>${responses}</ul></section>`;
}

/** @param openapi the generated OpenAPI 3.1 document; only the fields declared above are read */
export function renderDocs(openapi: object): string {
  const doc = openapi as Document;
  const byTag = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags?.[0] ?? "Other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), operationHtml(method, `/admin/v1${path}`, op)]);
    }
  }
  const sections = [...byTag].map(([tag, ops]) => `<h2 id="${escape(tag)}">${escape(tag)}</h2>${ops.join("")}`);
  const schemas = Object.entries(doc.components?.schemas ?? {}).map(
    ([name, schema]) => `<h3 id="schema-${escape(name)}">${escape(name)}</h3><pre tabindex="0">${escape(JSON.stringify(schema, null, 2))}</pre>`,
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(doc.info.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
code,pre{font-family:ui-monospace,monospace}pre{background:#f5f5f7;padding:.75rem;overflow:auto;border-radius:6px}
.op{border-top:1px solid #ddd;padding:.5rem 0}.m{font-size:12px;padding:2px 6px;border-radius:4px;color:#fff;background:#555}
.get{background:#0a7d38}.post{background:#0b5cad}.patch,.put{background:#a45f00}.delete{background:#b3261e}h4{margin:.5rem 0 0}</style>
</head><body><h1>${escape(doc.info.title)}</h1><p>${escape(doc.info.description ?? "")}</p>
<p>Machine-readable: <a href="/admin/v1/openapi.json">/admin/v1/openapi.json</a> (OpenAPI 3.1).</p>
<nav>${[...byTag.keys()].map((t) => `<a href="#${escape(t)}">${escape(t)}</a>`).join(" · ")}</nav>
${sections.join("")}<h2>Schemas</h2>${schemas.join("")}</body></html>`;
}
