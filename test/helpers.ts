/** Test helpers: drive the Worker through its own fetch, inside workerd, on the real migrated D1. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { createWorker } from "../src/index";
import type { Env } from "../src/env";
import { generateSecret } from "../src/secrets/format";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
export const BASE = "https://keygate.test";

/** An origin played by the test: records what it received and answers as told. */
export type OriginFetch = (request: Request) => Response | Promise<Response>;

export const unreachableOrigin: OriginFetch = () => {
  throw new Error("the origin must not be called");
};

export type TestWorker = ReturnType<typeof createWorker>;

/** The origin of the call in flight: tests play one origin at a time. */
let currentOrigin: OriginFetch = unreachableOrigin;

/**
 * A Worker instance for tests. Its outbound fetch goes to the origin of the current `call`. The instance owns the
 * authorization cache and usage counters, so a test that needs them empty builds its own and passes `worker`.
 */
export function testWorker(): TestWorker {
  return createWorker({ fetch: async (input, init) => currentOrigin(new Request(input, init)) });
}

/** The Worker every call uses unless given another: like a deployed isolate, it keeps its caches between calls. */
const sharedWorker = testWorker();

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A string or raw bytes/stream are sent as is; anything else as JSON (with `content-type: application/json`). */
  body?: unknown;
  token?: string | null;
  cf?: Record<string, unknown>;
  origin?: OriginFetch;
  env?: Env;
  /** The Worker instance to call; default: one shared by every call of the test file. */
  worker?: TestWorker;
  /** The scheme and host called; default BASE. */
  base?: string;
  /** Call the PrivateEndpoint entrypoint's handler with these service-binding props instead of the default fetch. */
  privateProps?: Record<string, unknown>;
  /** The client's abort signal: aborting it is the client hanging up. */
  signal?: AbortSignal;
  /**
   * true (the default): the whole exchange is over when the call returns: the answer's body read to its end (and kept,
   * so the test can still read it), then the request's ctx.waitUntil work waited for (usage counted, budgets
   * settled: both happen when the answer has ended). false: return the answer as it comes, without waiting: what a
   * test that reads a stream as it arrives needs.
   */
  settle?: boolean;
}

function isRawBody(body: unknown): body is BodyInit {
  return ArrayBuffer.isView(body) || body instanceof ArrayBuffer || body instanceof ReadableStream || body instanceof Blob;
}

export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  // A management call made while a data-plane call is in flight (a write racing a read) must not take that call's
  // origin away: admin calls only set one when they need it (Access's JWKS).
  if (options.origin !== undefined || !path.startsWith("/admin/")) currentOrigin = options.origin ?? unreachableOrigin;
  const worker = options.worker ?? sharedWorker;
  const headers = new Headers(options.headers);
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  let body: BodyInit | undefined;
  if (isRawBody(options.body)) {
    body = options.body;
  } else if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const init: RequestInit = { method: options.method ?? (body === undefined ? "GET" : "POST"), headers };
  if (body !== undefined) init.body = body;
  if (options.cf) (init as { cf?: unknown }).cf = options.cf;
  if (options.signal) init.signal = options.signal;
  const ctx = createExecutionContext();
  const request = new Request(`${options.base ?? BASE}${path}`, init);
  const response =
    options.privateProps === undefined
      ? await worker.fetch(request, options.env ?? env, ctx)
      : await worker.fetchPrivate(request, options.env ?? env, ctx, options.privateProps);
  if (options.settle === false) return response;
  if (response.body === null) {
    await waitOnExecutionContext(ctx);
    return response;
  }
  const answer = await response.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(answer, { status: response.status, statusText: response.statusText, headers: response.headers });
}

export interface JsonResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * A management API call as the root admin unless another token is given. Pass `callEnv` when the data plane
 * under test runs with another env (e.g. a longer AUTH_CACHE_LEASE_MS): a write waits out the lease of its env.
 */
export async function admin<T = any>(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = ADMIN_TOKEN,
  callEnv?: Env,
): Promise<JsonResponse<T>> {
  const response = await call(`/admin/v1${path}`, { method, body, token, ...(callEnv ? { env: callEnv } : {}) });
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}

let counter = 0;
export function uniqueSlug(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

export async function createProject(slug = uniqueSlug("p")) {
  const res = await admin("POST", "/projects", { slug });
  if (res.status !== 201) throw new Error(`project: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; slug: string };
}

export async function createDeployment(project: string, extra: Record<string, unknown> = {}, slug = uniqueSlug("d")) {
  const res = await admin("POST", `/projects/${project}/deployments`, {
    slug,
    origin: { url: "https://origin.example.com" },
    ...extra,
  });
  if (res.status !== 201) throw new Error(`deployment: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; slug: string; url: string };
}

export async function createKey(project: string, scopes: string[], extra: Record<string, unknown> = {}) {
  const res = await admin("POST", `/projects/${project}/keys`, { name: "test key", scopes, ...extra });
  if (res.status !== 201) throw new Error(`key: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; key: string; scopes: string[] };
}

export async function createToken(project: string, role: "full" | "read_only", extra: Record<string, unknown> = {}) {
  const res = await admin("POST", `/projects/${project}/tokens`, { name: "test token", role, ...extra });
  if (res.status !== 201) throw new Error(`token: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; token: string };
}

export async function createApplication(project: string, name = uniqueSlug("app")) {
  const res = await admin("POST", `/projects/${project}/applications`, { name });
  if (res.status !== 201) throw new Error(`application: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; name: string; updated_at: string };
}

export interface RuleBody {
  permission_set: "InferenceFullAccess" | "InferenceReadOnly";
  deployments: string[];
  conditions?: Record<string, unknown>;
}

export async function createPolicy(project: string, applicationId: string, rules: RuleBody[], name = uniqueSlug("pol")) {
  const res = await admin("POST", `/projects/${project}/policies`, { name, application_id: applicationId, rules });
  if (res.status !== 201) throw new Error(`policy: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; rules: RuleBody[]; updated_at: string };
}

/** A key made for an application: it has no scopes of its own. */
export async function createApplicationKey(project: string, applicationId: string, extra: Record<string, unknown> = {}) {
  const res = await admin("POST", `/projects/${project}/keys`, { name: "app key", application_id: applicationId, ...extra });
  if (res.status !== 201) throw new Error(`application key: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; key: string };
}

/** A whole setup: project, deployment, and a key linked to it. */
export async function fixture(deploymentExtra: Record<string, unknown> = {}, keyExtra: Record<string, unknown> = {}) {
  const project = await createProject();
  const deployment = await createDeployment(project.slug, deploymentExtra);
  const key = await createKey(project.slug, [`${project.slug}/${deployment.slug}`], keyExtra);
  return { project, deployment, key, path: `/endpoint/${project.slug}/${deployment.slug}` };
}

/** An origin that answers 200 JSON and keeps every request it saw. */
export function recordingOrigin(answer: () => Response = () => Response.json({ ok: true })) {
  const seen: Request[] = [];
  const origin: OriginFetch = (request) => {
    seen.push(request);
    return answer();
  };
  return { origin, seen };
}

export async function rowCount(sql: string, ...params: unknown[]): Promise<number> {
  const row = await env.DB.prepare(sql).bind(...params).first<{ n: number }>();
  return row?.n ?? 0;
}

/** Waits `ms` on a real timer: a turn of the event loop, too, which a loop of decisions from memory never yields. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The test env with some variables replaced, e.g. `withEnv({ AUTH_CACHE_LEASE_MS: "400" })`. */
export function withEnv(overrides: Partial<Env>): Env {
  return { ...env, ...overrides };
}

/** A well-formed API key (right prefix, length, checksum) that no project has. */
export function unknownApiKey(): string {
  return generateSecret("api_key");
}

/**
 * Asserts a response is the contract's error: status, `error.code`, the OpenAI error shape, `cache-control:
 * no-store`, `x-request-id`, and `WWW-Authenticate: Bearer` exactly on 401. Returns the parsed body.
 */
export async function expectError(response: Response, status: number, code: string) {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status, text: expect.stringContaining(`"code":"${code}"`) });
  const body = JSON.parse(text) as { error: { message: string; type: string; code: string; param: string | null } };
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(response.headers.get("x-request-id")).toBeTruthy();
  if (status === 401) expect(response.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
  else expect(response.headers.get("www-authenticate")).toBeNull();
  // A 401 never tells an anonymous caller that a project exists (docs/api.md, "Revision").
  if (status === 401) expect(response.headers.get("keygate-revision")).toBeNull();
  return body;
}

/** One statement the database was asked to execute. */
export interface ExecutedStatement {
  sql: string;
  method: "first" | "all" | "run" | "raw" | "batch" | "exec" | "withSession";
}

/**
 * env.DB wrapped so every execution is recorded: first/all/run/raw on statements, batch/exec/withSession on the
 * database. prepare() and bind() are not executions (they do no I/O) and are not counted.
 */
export function countingDb(db: D1Database = env.DB) {
  const executed: ExecutedStatement[] = [];
  const real = new WeakMap<object, D1PreparedStatement>();
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const wrapped = {
      bind: (...values: unknown[]) => wrap(stmt.bind(...values), sql),
      first: (...args: [string?]) => (executed.push({ sql, method: "first" }), stmt.first(...(args as []))),
      all: () => (executed.push({ sql, method: "all" }), stmt.all()),
      run: () => (executed.push({ sql, method: "run" }), stmt.run()),
      raw: (...args: [{ columnNames?: boolean }?]) => (executed.push({ sql, method: "raw" }), stmt.raw(...(args as []))),
    } as unknown as D1PreparedStatement;
    real.set(wrapped, stmt);
    return wrapped;
  };
  const proxy = new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql), sql);
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          executed.push({ sql: "(batch)", method: "batch" });
          return target.batch(statements.map((s) => real.get(s) ?? s));
        };
      }
      if (prop === "exec" || prop === "withSession") {
        return (...args: unknown[]) => {
          executed.push({ sql: String(args[0] ?? ""), method: prop });
          return (Reflect.get(target, prop) as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: proxy, executed };
}

/** env.DB whose `prepare` throws for a statement matching `sql`: one kind of write failing while the rest works. */
export function dbRefusing(sql: RegExp): D1Database {
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") {
        return (text: string) => {
          if (sql.test(text)) throw new Error(`D1 refused: ${text.trim().split(/\s+/, 3).join(" ")}`);
          return target.prepare(text);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * env.DB whose next batches first run `meanwhile` — another request's write landing between a handler's read and
 * its commit, so races can be played deterministically.
 */
export function dbWithWriteBeforeBatch(meanwhile: (db: D1Database) => Promise<unknown>): D1Database {
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          await meanwhile(target);
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Collects console output while a test runs, to check the log lines and that no secret is ever written. */
export function captureConsole() {
  const lines: string[] = [];
  const record = (...args: unknown[]) => void lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
  const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation(record),
  );
  const endpointLines = () =>
    lines.filter((l) => l.startsWith('{"msg":"endpoint"')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    lines,
    /** The data plane's one structured line per request, as written so far. */
    endpointLines,
    /**
     * The data plane writes its line once the answer is on its way (src/index.ts): after a call that did not settle
     * (`settle: false`), its line may still be to come. Waits for exactly `count` lines.
     */
    endpointLinesOnceWritten: async (count: number) => {
      await expect.poll(() => endpointLines().length).toBe(count);
      // And no more than that: a line written twice would come a turn later.
      await scheduler.wait(10);
      expect(endpointLines()).toHaveLength(count);
      return endpointLines();
    },
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}
