/**
 * One management API call: a route of `Operations`, its path parameters, query and body, typed from the OpenAPI
 * document, so the compiler checks each call against the Worker's own description of it.
 */
import { KeygateError } from "./errors.ts";
import type { Operations } from "./openapi.ts";

export type Route = keyof Operations;
export type PathOf<R extends Route> = Operations[R]["path"];
export type QueryOf<R extends Route> = Operations[R]["query"];
export type BodyOf<R extends Route> = Operations[R]["body"];
export type ResponseOf<R extends Route> = Operations[R]["response"];

export interface CallOptions<R extends Route> {
  query?: QueryOf<R>;
  body?: BodyOf<R>;
}

export interface TransportOptions {
  baseUrl: string;
  /** The `Authorization: Bearer` credential. */
  token: string;
  /** A fetch to call instead of the global one (a Worker's service binding, a test's stub). */
  fetch?: typeof fetch;
  /** Milliseconds before a call gives up (default 30 s). */
  timeoutMs?: number;
  /** Sent as `user-agent` where the runtime lets a client set it. */
  userAgent?: string;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export class Transport {
  readonly #options: TransportOptions;

  constructor(options: TransportOptions) {
    this.#options = options;
  }

  get baseUrl(): string {
    return this.#options.baseUrl;
  }

  async call<R extends Route>(route: R, path: PathOf<R>, options: CallOptions<R> = {}): Promise<ResponseOf<R>> {
    const [method, template] = route.split(" ") as [string, string];
    const url = new URL(`${this.#options.baseUrl}/admin/v1${fillPath(template, path as Record<string, string>)}`);
    for (const [name, value] of Object.entries((options.query ?? {}) as Record<string, unknown>)) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.#options.token}`, accept: "application/json" };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (this.#options.userAgent) headers["user-agent"] = this.#options.userAgent;
    const fetcher = this.#options.fetch ?? fetch;
    let response: Response;
    try {
      response = await fetcher(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (cause) {
      throw connectionError(`${method} ${url.origin}${url.pathname}`, cause, this.#options.token);
    }
    if (!response.ok) throw await KeygateError.fromResponse(response);
    return (await readJson(response, `${method} ${url.origin}${url.pathname}`)) as ResponseOf<R>;
  }
}

/** A success answer's JSON body; a body cut short or that is not JSON (a proxy's page) is a KeygateError too. */
async function readJson(response: Response, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch (cause) {
    throw connectionError(what, cause);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new KeygateError({
      status: response.status,
      type: "api_error",
      code: null,
      param: null,
      requestId: response.headers.get("x-request-id"),
      message: `${what}: HTTP ${response.status} with a body that is not JSON${text ? `: ${text.slice(0, 200)}` : ""}`,
    });
  }
}

/** `/projects/{project}/keys/{key_id}` with each `{name}` replaced by its encoded value. */
export function fillPath(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (typeof value !== "string" || value === "") {
      throw new KeygateError({ status: 0, type: "configuration_error", code: "missing_setting", param: name, message: `\`${name}\` is required for ${template}.` });
    }
    return encodeURIComponent(value);
  });
}

/** `secret` never appears in the message, whatever the runtime's error quoted (defence in depth: requiredCredential). */
function connectionError(what: string, cause: unknown, secret?: string): KeygateError {
  const timedOut = cause instanceof Error && (cause.name === "TimeoutError" || cause.name === "AbortError");
  const reason = (cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause)).replaceAll(secret || "\u0000", "[credential]");
  return new KeygateError({
    status: 0,
    type: "connection_error",
    code: timedOut ? "timeout" : null,
    param: null,
    message: `${what}: ${timedOut ? "no answer in time" : `cannot reach keygate (${reason})`}`,
    cause,
  });
}
