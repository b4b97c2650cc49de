/**
 * The management API's routes as the security table sees them, read from the OpenAPI document the Worker serves
 * (/admin/v1/openapi.json), so a route added to the code is in the table without anyone listing it here.
 *
 * What this file does list is only what the document cannot give: a valid body for each route that takes one,
 * a fixture for each path parameter, and what another project's token gets on routes outside /projects/{project}.
 * A documented route missing one of those is reported by `buildRouteTable` (and fails security.test.ts) with
 * the entry to add.
 */
import { call } from "../helpers";

/** A route as the document names it: "POST /projects/{project}/keys" (path relative to /admin/v1). */
export type RouteId = string;

/** The routes that answer without a credential. Every other route must be in the security table. */
export const PUBLIC_ROUTES: readonly RouteId[] = ["GET /openapi.json"];

/**
 * A body the root admin's call would accept, for every route whose document entry has a requestBody, so a denial
 * in the table is about the caller and never about the body. The "root admin" test in security.test.ts checks it.
 * A function builds the body from the fixtures (a policy names a real application).
 */
export const VALID_BODIES: Readonly<Record<RouteId, unknown>> = {
  "POST /projects": { slug: "sec-new-project" },
  "PATCH /projects/{project}": { name: "x" },
  "POST /projects/{project}/deployments": { slug: "sec-new", origin: { url: "https://a.example.com" } },
  "PATCH /projects/{project}/deployments/{deployment}": { name: "x" },
  "POST /projects/{project}/keys": { name: "x", scopes: [] },
  "PATCH /projects/{project}/keys/{key_id}": { name: "x" },
  "POST /projects/{project}/keys/{key_id}/roll": {},
  "POST /projects/{project}/tokens": { name: "x", role: "full" },
  "POST /projects/{project}/applications": { name: "sec-new-app" },
  "PATCH /projects/{project}/applications/{application_id}": { description: "x" },
  "POST /projects/{project}/policies": (f: RouteFixtures) => ({
    name: "sec-new-policy",
    application_id: f.applicationId,
    rules: [{ permission_set: "InferenceReadOnly", deployments: ["*"] }],
  }),
  "PATCH /projects/{project}/policies/{policy_id}": { description: "x" },
  "POST /projects/{project}/explain": (f: RouteFixtures) => ({ key_id: f.keyId, deployment: f.deployment }),
  // The world's budget is the key's daily one; this one is monthly, so the root admin's create does not conflict.
  "POST /projects/{project}/budgets": (f: RouteFixtures) => ({ subject: { type: "key", id: f.keyId }, limit_tokens: 1000, period: "month" }),
  "PATCH /projects/{project}/budgets/{budget_id}": { limit_tokens: 2000 },
};

/** Routes that only read although their method is POST (their body describes a question, not a change). */
export const READS_BY_POST: readonly RouteId[] = ["POST /projects/{project}/explain"];

/**
 * Routes outside /projects/{project} (which all answer a token of another project 403 project_scope_mismatch):
 *   root_only         403 scope_insufficient for any management token
 *   own_project_only  200 for any token, showing nothing of another project
 */
export const OUTSIDE_A_PROJECT: Readonly<Record<RouteId, "root_only" | "own_project_only">> = {
  "POST /projects": "root_only",
  "GET /projects": "own_project_only",
};

/** Real resources of one project, to fill path parameters with. */
export interface RouteFixtures {
  project: string;
  deployment: string;
  keyId: string;
  tokenId: string;
  applicationId: string;
  /** A policy of another application than `applicationId`, so deleting that one leaves this one in place. */
  policyId: string;
  budgetId: string;
}

/** Which fixture fills each path parameter of the document. */
const PATH_FIXTURES: Readonly<Record<string, keyof RouteFixtures>> = {
  project: "project",
  deployment: "deployment",
  key_id: "keyId",
  token_id: "tokenId",
  application_id: "applicationId",
  policy_id: "policyId",
  budget_id: "budgetId",
};

/** One row of the table: a documented route, with its parameters filled and a valid body. */
export interface RouteCase {
  id: RouteId;
  method: string;
  /** The path relative to /admin/v1, parameters filled. */
  url: string;
  body: unknown;
  isWrite: boolean;
  /** Under /projects/{project}: guarded by the project filter. */
  inAProject: boolean;
}

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

interface Operation {
  requestBody?: unknown;
  parameters?: { name: string; in: string; required?: boolean }[];
}
export interface DocumentedRoute {
  id: RouteId;
  method: string;
  path: string;
  operation: Operation;
}

/** Every (method, path) of the OpenAPI document the Worker serves, without a credential. */
export async function documentedRoutes(): Promise<DocumentedRoute[]> {
  const res = await call("/admin/v1/openapi.json");
  if (res.status !== 200) throw new Error(`GET /admin/v1/openapi.json: ${res.status}`);
  const doc = (await res.json()) as { paths: Record<string, Record<string, Operation>> };
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, operation]) => ({ id: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, operation })),
  );
}

/**
 * The security table: one case per documented non-public route. A route that cannot be made into a case (no
 * body, no fixture, no OUTSIDE_A_PROJECT entry) is left out and named in `problems` with what to add; entries
 * here that match no documented route are problems too, so the lists above cannot go stale.
 */
export function buildRouteTable(routes: DocumentedRoute[], fixtures: RouteFixtures) {
  const cases: RouteCase[] = [];
  const problems: string[] = [];
  const here = "test/admin/routes.ts";
  for (const { id, method, path, operation } of routes) {
    if (PUBLIC_ROUTES.includes(id)) continue;
    const missing: string[] = [];
    const url = path.replace(/\{([^}]+)\}/g, (whole, name: string) => {
      const fixture = PATH_FIXTURES[name];
      if (fixture) return encodeURIComponent(fixtures[fixture]);
      missing.push(`a fixture for ${whole}: add it to PATH_FIXTURES in ${here} and create it in createWorld (test/admin/security.test.ts)`);
      return whole;
    });
    for (const p of operation.parameters ?? []) {
      if (p.in === "query" && p.required) missing.push(`a value for the required query parameter '${p.name}'`);
    }
    if (operation.requestBody !== undefined && !(id in VALID_BODIES)) {
      missing.push(`a valid minimal body: add "${id}": {…} to VALID_BODIES in ${here}`);
    }
    const inAProject = path.startsWith("/projects/{project}");
    if (!inAProject && !(id in OUTSIDE_A_PROJECT)) {
      missing.push(`what another project's token gets: add "${id}" to OUTSIDE_A_PROJECT in ${here}`);
    }
    if (missing.length > 0) problems.push(`${id} is in the OpenAPI document but the security table lacks ${missing.join("; and ")}`);
    else {
      const body = VALID_BODIES[id];
      const isWrite = method !== "GET" && !READS_BY_POST.includes(id);
      cases.push({ id, method, url, body: typeof body === "function" ? body(fixtures) : body, isWrite, inAProject });
    }
  }
  const documented = new Set(routes.map((r) => r.id));
  for (const [list, ids] of [["VALID_BODIES", Object.keys(VALID_BODIES)], ["OUTSIDE_A_PROJECT", Object.keys(OUTSIDE_A_PROJECT)], ["READS_BY_POST", READS_BY_POST]] as const) {
    for (const id of ids) if (!documented.has(id)) problems.push(`${list} names ${id}, which the OpenAPI document does not have: remove it`);
  }
  for (const { id, operation } of routes) {
    if (id in VALID_BODIES && operation.requestBody === undefined) problems.push(`VALID_BODIES has a body for ${id}, which takes none: remove it`);
  }
  return { cases, problems };
}

/** Calls a route with exactly this Authorization header (or none), as the raw Response. */
export function send(route: Pick<RouteCase, "method" | "url" | "body">, authorization: string | null): Promise<Response> {
  return call(`/admin/v1${route.url}`, {
    method: route.method,
    body: route.body,
    headers: authorization === null ? {} : { authorization },
  });
}
