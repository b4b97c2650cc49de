/**
 * The security table (CONTRIBUTING.md, "Add a management route"): every management route against every way a caller can be wrong.
 * The routes are read from the OpenAPI document the Worker serves (see ./routes.ts), so a new route is in the
 * table by itself, or fails "covers exactly the routes of the OpenAPI document" with the entry it lacks.
 * Each denial must give the contract's status and code in the error shape, and change nothing in the store.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { generateSecret } from "../../src/secrets/format";
import {
  ADMIN_TOKEN,
  admin,
  createApplication,
  createDeployment,
  createKey,
  createPolicy,
  createProject,
  createToken,
  expectError,
} from "../helpers";
import {
  buildRouteTable,
  documentedRoutes,
  OUTSIDE_A_PROJECT,
  PUBLIC_ROUTES,
  send,
  type DocumentedRoute,
  type RouteCase,
  type RouteFixtures,
} from "./routes";

/** A project with one of each resource a path parameter can name, and the project's own API key. */
async function createWorld(): Promise<RouteFixtures & { apiKey: string }> {
  const project = await createProject();
  const deployment = await createDeployment(project.slug);
  const key = await createKey(project.slug, [`${project.slug}/${deployment.slug}`]);
  const token = await createToken(project.slug, "full");
  const application = await createApplication(project.slug);
  const policy = await createPolicy(project.slug, (await createApplication(project.slug)).id, [
    { permission_set: "InferenceFullAccess", deployments: [deployment.slug] },
  ]);
  const budget = await admin("POST", `/projects/${project.slug}/budgets`, { subject: { type: "key", id: key.id }, limit_tokens: 100, period: "day" });
  if (budget.status !== 201) throw new Error(`budget: ${budget.status}`);
  return {
    budgetId: budget.body.id as string,
    project: project.slug,
    deployment: deployment.slug,
    keyId: key.id,
    tokenId: token.id,
    applicationId: application.id,
    policyId: policy.id,
    apiKey: key.key,
  };
}

let routes: DocumentedRoute[];
let table: RouteCase[];
let problems: string[];
let w: RouteFixtures & {
  apiKey: string;
  readOnly: string;
  otherProject: string;
  otherProjectToken: string;
  revoked: string;
  expired: string;
};

beforeAll(async () => {
  routes = await documentedRoutes();
  const world = await createWorld();
  const other = await createProject();
  const revoked = await createToken(world.project, "full");
  await admin("DELETE", `/projects/${world.project}/tokens/${revoked.id}`);
  w = {
    ...world,
    readOnly: (await createToken(world.project, "read_only")).token,
    otherProject: other.slug,
    otherProjectToken: (await createToken(other.slug, "full")).token,
    revoked: revoked.token,
    expired: (await createToken(world.project, "full", { expires_at: "2020-01-01T00:00:00Z" })).token,
  };
  ({ cases: table, problems } = buildRouteTable(routes, w));
});

/** Every row of every table in the store (but D1's own bookkeeping), as one string to compare. */
async function snapshot(): Promise<string> {
  const { results } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' ORDER BY name",
  ).all<{ name: string }>();
  const dumps = await env.DB.batch(results.map((t) => env.DB.prepare(`SELECT * FROM "${t.name}" ORDER BY 1`)));
  return JSON.stringify(results.map((t, i) => [t.name, dumps[i]!.results]));
}

interface Denial {
  status: number;
  code: string;
}

/** What a caller gets on a route: a denial, 200 showing nothing of another project, or not tried here. */
type Outcome = Denial | "sees_only_its_own" | "not_tried";

interface CallerKind {
  name: string;
  /** The Authorization header it sends, or null for none. */
  authorization: () => string | null;
  outcome: (route: RouteCase) => Outcome;
}

const bearer = (token: string) => `Bearer ${token}`;
const always = (status: number, code: string) => (): Outcome => ({ status, code });

const CALLER_KINDS: CallerKind[] = [
  { name: "no credential: 401 missing_api_key", authorization: () => null, outcome: always(401, "missing_api_key") },
  { name: "a malformed token: 401 invalid_api_key", authorization: () => bearer("ik_sdk_short"), outcome: always(401, "invalid_api_key") },
  {
    name: "the admin token under the Basic scheme: 401 invalid_api_key",
    authorization: () => `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}`,
    outcome: always(401, "invalid_api_key"),
  },
  {
    name: "an unknown, well-formed token: 401 invalid_api_key",
    authorization: () => bearer(generateSecret("management_token")),
    outcome: always(401, "invalid_api_key"),
  },
  { name: "a revoked token: 401 invalid_api_key", authorization: () => bearer(w.revoked), outcome: always(401, "invalid_api_key") },
  { name: "an expired token: 401 expired_api_key", authorization: () => bearer(w.expired), outcome: always(401, "expired_api_key") },
  {
    name: "the project's own ik_live_ API key: 403 wrong_credential_type",
    authorization: () => bearer(w.apiKey),
    outcome: always(403, "wrong_credential_type"),
  },
  {
    name: "an unknown, well-formed ik_live_ API key: 403 wrong_credential_type",
    authorization: () => bearer(generateSecret("api_key")),
    outcome: always(403, "wrong_credential_type"),
  },
  {
    name: "another project's token: 403 project_scope_mismatch (outside a project, as OUTSIDE_A_PROJECT says)",
    authorization: () => bearer(w.otherProjectToken),
    outcome: (route) => {
      if (route.inAProject) return { status: 403, code: "project_scope_mismatch" };
      return OUTSIDE_A_PROJECT[route.id] === "root_only" ? { status: 403, code: "scope_insufficient" } : "sees_only_its_own";
    },
  },
  {
    name: "a read-only token writing: 403 scope_insufficient",
    authorization: () => bearer(w.readOnly),
    outcome: (route) => (route.isWrite ? { status: 403, code: "scope_insufficient" } : "not_tried"),
  },
];

async function expectDenied(route: RouteCase, authorization: string | null, { status, code }: Denial) {
  const before = await snapshot();
  const res = await send(route, authorization);
  const body = (await res.clone().json().catch(() => null)) as { error?: { code?: string } } | null;
  expect({ route: route.id, status: res.status, code: body?.error?.code }).toEqual({ route: route.id, status, code });
  await expectError(res, status, code);
  expect(await snapshot(), `${route.id} changed the store`).toBe(before);
}

/** A 200 that names nothing of the fixture project: not its slug, nor any of its resources' ids. */
async function expectSeesOnlyItsOwn(route: RouteCase, authorization: string) {
  const before = await snapshot();
  const res = await send(route, authorization);
  const text = await res.text();
  expect({ route: route.id, status: res.status }).toEqual({ route: route.id, status: 200 });
  for (const secret of [w.project, w.deployment, w.keyId, w.tokenId, w.applicationId, w.policyId, w.budgetId]) expect(text, route.id).not.toContain(`"${secret}"`);
  expect(await snapshot(), `${route.id} changed the store`).toBe(before);
}

describe("the security table", () => {
  it("covers exactly the routes of the OpenAPI document", () => {
    expect(problems, `\n${problems.join("\n")}\n`).toEqual([]);
    const documented = routes.map((r) => r.id).filter((id) => !PUBLIC_ROUTES.includes(id));
    expect(table.map((c) => c.id).sort()).toEqual(documented.sort());
    expect(table.length).toBeGreaterThan(0);
  });

  it("answers without a credential exactly on the public routes", async () => {
    const publicCases = PUBLIC_ROUTES.map((id) => {
      const [method, url] = id.split(" ") as [string, string];
      return { id, method, url, body: undefined };
    });
    const open: string[] = [];
    for (const route of [...table, ...publicCases]) {
      const res = await send(route, null);
      if (res.status !== 401) open.push(`${route.id} ${res.status}`);
    }
    expect(open.sort()).toEqual(PUBLIC_ROUTES.map((id) => `${id} 200`).sort());
  });

  it("each case is one the root admin may make: its body and path are valid, so only the caller is wrong", async () => {
    const world = await createWorld();
    const { cases, problems: worldProblems } = buildRouteTable(routes, world);
    expect(worldProblems).toEqual([]);
    // Deletes last, children before parents, so every call finds what it names.
    const order = (c: RouteCase) => (c.method === "DELETE" ? 1000 - c.url.split("/").length : 0);
    for (const route of [...cases].sort((a, b) => order(a) - order(b))) {
      const res = await send(route, bearer(ADMIN_TOKEN));
      expect({ route: route.id, ok: res.ok }, `${res.status} ${await res.text()}`).toEqual({ route: route.id, ok: true });
    }
  });
});

describe("every management route denies", () => {
  it.each(CALLER_KINDS)("$name", async (caller) => {
    let tried = 0;
    for (const route of table) {
      const outcome = caller.outcome(route);
      if (outcome === "not_tried") continue;
      tried += 1;
      const authorization = caller.authorization();
      if (outcome === "sees_only_its_own") await expectSeesOnlyItsOwn(route, authorization!);
      else await expectDenied(route, authorization, outcome);
    }
    expect(tried).toBeGreaterThan(0);
  });
});

describe("a read-only token reads", () => {
  it("every read route answers 200", async () => {
    for (const route of table.filter((r) => !r.isWrite)) {
      const res = await send(route, bearer(w.readOnly));
      expect({ route: route.id, status: res.status }).toEqual({ route: route.id, status: 200 });
    }
  });
  it("lists only its own project", async () => {
    const res = await admin("GET", "/projects?limit=100", undefined, w.readOnly);
    expect(res.body.data.map((p: { slug: string }) => p.slug)).toEqual([w.project]);
  });
});
