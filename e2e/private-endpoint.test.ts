// The private endpoint through a real service binding: keygate's bundle (exactly what `wrangler deploy` uploads)
// and a second Worker in one Miniflare, the second bound to keygate's `PrivateEndpoint` entrypoint with `props`, as
// an operator's own Worker would be. The same deployment on the public URL is refused once its public endpoint is
// off, and the caller's name from the binding's props is in keygate's log line.
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./lib/keygate.ts";

// The bench's helpers (plain .mjs): bundle as wrangler deploy does, Miniflare from wrangler's own tree, migrations.
type Bench = {
  bundleKeygate(root: string, outdir: string): string;
  readWranglerConfig(root: string): { compatibilityDate: string; compatibilityFlags: string[]; vars: Record<string, string> };
  loadMiniflare(root: string): Promise<{ Miniflare: new (options: unknown) => any; convert: (options: unknown) => unknown }>;
  migrationStatements(root: string): string[];
};
const load = (file: string) => import(join(ROOT, "bench", "lib", file) as string);

const ADMIN = "e2e-admin-token-0123456789";
const CALLER = `export default {
  // The operator's own Worker: forwards /endpoint/… to keygate over the service binding, never over the internet.
  fetch(request, env) {
    const url = new URL(request.url);
    return env.KEYGATE.fetch(new Request("https://keygate.internal" + url.pathname + url.search, request));
  },
};`;

let mf: any;
let origin: Server;
let originUrl: string;
let scratch: string;
const logs: string[] = [];

beforeAll(async () => {
  const bench = { ...(await load("build.mjs")), ...(await load("serve.mjs")), ...(await load("seed.mjs")) } as Bench;
  origin = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ object: "list", data: [{ id: "m", object: "model" }], path: req.url }));
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;

  scratch = mkdtempSync(join(tmpdir(), "keygate-private-"));
  const scriptPath = bench.bundleKeygate(ROOT, join(scratch, "bundle"));
  const wrangler = bench.readWranglerConfig(ROOT);
  // Options in the shape the bench uses, converted to this Miniflare's own (bench/lib/serve.mjs does the same).
  const { Miniflare, convert } = await bench.loadMiniflare(ROOT);
  const common = { modules: true, compatibilityDate: wrangler.compatibilityDate, compatibilityFlags: wrangler.compatibilityFlags };
  mf = new Miniflare(convert({
    workers: [
      {
        name: "keygate",
        ...common,
        scriptPath,
        // Module names are taken relative to this (the default, the working directory, is not above the bundle).
        modulesRoot: dirname(scriptPath),
        bindings: { ...wrangler.vars, ADMIN_TOKEN: ADMIN, KEY_PEPPER: "e2e-pepper", ALLOW_PRIVATE_ORIGINS: "true", AUTH_CACHE_LEASE_MS: "50" },
        d1Databases: { DB: "e2e-private-endpoint" },
      },
      {
        name: "caller",
        ...common,
        script: CALLER,
        serviceBindings: { KEYGATE: { name: "keygate", entrypoint: "PrivateEndpoint", props: { caller: "billing-api" } } },
      },
    ],
    d1Persist: join(scratch, "d1"),
    handleStructuredLogs: (entry: { message: string }) => logs.push(entry.message),
  }));
  await mf.ready;
  const db = await mf.getD1Database("DB", "keygate");
  await db.batch(bench.migrationStatements(ROOT).map((sql) => db.prepare(sql)));
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  await new Promise((resolve) => origin?.close(resolve));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function admin(method: string, path: string, body?: unknown) {
  const res = await mf.dispatchFetch(`http://keygate.test/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const publicCall = (path: string, key: string) =>
  mf.dispatchFetch(`http://keygate.test${path}`, { headers: { authorization: `Bearer ${key}` } });
async function privateCall(path: string, key: string) {
  const caller = await mf.getWorker("caller");
  return caller.fetch(`http://caller.test${path}`, { headers: { authorization: `Bearer ${key}` } });
}

describe("the PrivateEndpoint entrypoint, through a service binding", () => {
  it("reaches a deployment whose public endpoint is off; the public URL is refused; the caller is logged", async () => {
    await admin("POST", "/projects", { slug: "acme" });
    await admin("POST", "/projects/acme/deployments", {
      slug: "internal",
      origin: { url: originUrl },
      endpoints: { public: { enabled: false }, private: { enabled: true } },
    });
    const { key } = await admin("POST", "/projects/acme/keys", { name: "svc", scopes: ["acme/internal"] });

    const viaBinding = await privateCall("/endpoint/acme/internal/v1/models", key);
    expect(viaBinding.status).toBe(200);
    expect(await viaBinding.json()).toMatchObject({ object: "list", path: "/v1/models" });

    const viaInternet = await publicCall("/endpoint/acme/internal/v1/models", key);
    expect(viaInternet.status).toBe(404);
    expect((await viaInternet.json()).error.code).toBe("not_found");

    const lines = logs.filter((l) => l.includes('"msg":"endpoint"')).map((l) => JSON.parse(l));
    expect(lines).toContainEqual(expect.objectContaining({ endpoint: "private", caller: "billing-api", decision: "allow", status: 200 }));
    expect(lines).toContainEqual(expect.objectContaining({ endpoint: "public", decision: "not_found", reason: "endpoint_disabled" }));

    // And the other way: the private endpoint turned off, the binding is refused from the next request on.
    await admin("PATCH", "/projects/acme/deployments/internal", { endpoints: { public: { enabled: true }, private: { enabled: false } } });
    expect((await privateCall("/endpoint/acme/internal/v1/models", key)).status).toBe(404);
    expect((await publicCall("/endpoint/acme/internal/v1/models", key)).status).toBe(200);
  });
});
