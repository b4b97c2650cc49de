/** Test helpers: drive the Worker through its own fetch, inside workerd, on the real migrated D1. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createWorker } from "../src/index";
import type { Env } from "../src/env";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
export const BASE = "https://keygate.test";

/** An origin played by the test: records what it received and answers as told. */
export type OriginFetch = (request: Request) => Response | Promise<Response>;

export const unreachableOrigin: OriginFetch = () => {
  throw new Error("the origin must not be called");
};

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  token?: string | null;
  cf?: Record<string, unknown>;
  origin?: OriginFetch;
  env?: Env;
}

export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const origin = options.origin ?? unreachableOrigin;
  const worker = createWorker({ fetch: async (input, init) => origin(new Request(input, init)) });
  const headers = new Headers(options.headers);
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const init: RequestInit = { method: options.method ?? (body === undefined ? "GET" : "POST"), headers };
  if (body !== undefined) init.body = body;
  if (options.cf) (init as { cf?: unknown }).cf = options.cf;
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`${BASE}${path}`, init), options.env ?? env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export interface JsonResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A management API call as the root admin unless another token is given. */
export async function admin<T = any>(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = ADMIN_TOKEN,
): Promise<JsonResponse<T>> {
  const response = await call(`/admin/v1${path}`, { method, body, token });
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
