/**
 * The Worker: the data plane (public: /endpoint/… and host-based URLs; private: the PrivateEndpoint entrypoint and
 * PRIVATE_HOSTNAME), the control plane (/admin/v1, /admin/docs) for everything else, and /healthz. Dependencies with I/O beyond D1 (the outbound fetch used for origins and Access's JWKS) are parameters
 * of createWorker, so tests can play the origin and the identity provider; the state kept between requests (the
 * authorization cache, usage counters, the control plane) belongs to the object it returns, so a test gets fresh
 * state by building a new one.
 */
import { configOf, type Config } from "./config";
import type { ControlPlane } from "./control-plane";
import type { Deps, Env } from "./env";
import { errorResponse, internalReason, toApiError } from "./errors";
import { WorkerEntrypoint } from "cloudflare:workers";
import { callerOf, PUBLIC, verifiedCertificate, type Arrival } from "./gateway/arrival";
import { JWKS_PATH, jwksResponse } from "./gateway/assertion";
import {
  ENDPOINT_PREFIX,
  handleEndpoint,
  targetOfHost,
  targetOfPath,
  type EndpointTarget,
  type GatewayOutcome,
  type GatewayState,
} from "./gateway/handle";
import { UsageRecorder } from "./gateway/usage";
import { logLine } from "./log";
import { requestIdFor } from "./request-id";
import { REVISION_HEADER } from "./revision";
import { AuthCache } from "./store/auth-cache";

export function createWorker(deps: Deps) {
  let controlPlane: Promise<ControlPlane> | null = null;
  let gateway: GatewayState | null = null;

  /** The control plane's module and schemas load on the first request that needs them, once. */
  function loadControlPlane(): Promise<ControlPlane> {
    if (controlPlane === null) {
      controlPlane = import("./control-plane").then((module) => module.controlPlane(deps));
      // A failed load is retried by the next request rather than remembered.
      controlPlane.catch(() => (controlPlane = null));
    }
    return controlPlane;
  }

  /** Sized by the first request's AUTH_CACHE_MAX_ENTRIES: one Worker instance serves one configuration. */
  function gatewayState(config: Config): GatewayState {
    gateway ??= {
      authCache: new AuthCache(config.cacheMaxEntries),
      usage: new UsageRecorder(),
    };
    return gateway;
  }

  async function dataPlane(
    request: Request,
    target: EndpointTarget | null,
    arrival: Arrival,
    env: Env,
    ctx: ExecutionContext,
    config: Config,
  ) {
    const started = Date.now();
    const requestId = requestIdFor(request);
    const outcome: GatewayOutcome = { project: "", deployment: "", keyId: null, decision: "error", endpoint: arrival.endpoint };
    if (arrival.endpoint === "private" && arrival.via === "binding" && arrival.caller !== null) outcome.caller = arrival.caller;
    let response: Response;
    let error: string | undefined;
    try {
      const state = gatewayState(config);
      response = await handleEndpoint(request, target, arrival, { env, ctx, deps, config, state, requestId }, outcome);
    } catch (err) {
      const apiError = toApiError(err);
      response = errorResponse(apiError, requestId);
      outcome.decision = apiError.code;
      outcome.reason ??= apiError.code;
      error = internalReason(apiError);
    }
    if (outcome.revision !== undefined) response.headers.set(REVISION_HEADER, String(outcome.revision));
    // One line per request: the denial's reason, or a 5xx's internal cause, rather than a second line. Written once the
    // answer is on its way, not before: a console.log while the request's answer is pending measured about 50 µs of
    // CPU and 60 µs of latency per request here, and under 10 µs after it (BENCHMARKS.md, "The warm path").
    const fields = {
      msg: "endpoint",
      request_id: requestId,
      project: outcome.project,
      deployment: outcome.deployment,
      endpoint: outcome.endpoint,
      ...(outcome.caller === undefined ? {} : { caller: outcome.caller }),
      key_id: outcome.keyId,
      decision: outcome.decision,
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
      ...(outcome.budgetId === undefined ? {} : { budget_id: outcome.budgetId }),
      status: response.status,
      latency_ms: Date.now() - started,
      ...(error === undefined ? {} : { error }),
    };
    // A hang-up or a 5xx is rare and the line then matters most: written at once, owing nothing to the invocation
    // living on after its answer.
    if (request.signal.aborted || response.status >= 500) logLine(fields);
    else ctx.waitUntil(scheduler.wait(0).then(() => logLine(fields)));
    return response;
  }

  /** The configuration, or the 500 every request gets while a security setting does not parse (config.ts). */
  function configured(request: Request, env: Env): Config | Response {
    try {
      return configOf(env);
    } catch (err) {
      const requestId = requestIdFor(request);
      const apiError = toApiError(err);
      logLine({ level: "error", msg: "configuration", request_id: requestId, error: internalReason(apiError) });
      return errorResponse(apiError, requestId);
    }
  }

  return {
    async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
      const config = configured(request, env);
      if (config instanceof Response) return config;
      const url = new URL(request.url);
      // `example.com.` names the same host as `example.com`: one spelling, so neither rule below can be stepped around.
      const host = url.hostname.endsWith(".") ? url.hostname.slice(0, -1) : url.hostname;
      // The private hostname serves the data plane only, and only to a client certificate the edge verified.
      if (config.privateHostname !== null && host === config.privateHostname) {
        const arrival: Arrival = { endpoint: "private", via: "mtls", certificate: verifiedCertificate(request) };
        return dataPlane(request, url.pathname.startsWith(ENDPOINT_PREFIX) ? targetOfPath(url.pathname) : null, arrival, env, ctx, config);
      }
      if (config.endpointHostSuffix !== null) {
        const target = targetOfHost(host, url.pathname, config.endpointHostSuffix);
        if (target !== null) return dataPlane(request, target, PUBLIC, env, ctx, config);
      }
      // The data plane skips the router: it is the hot path, and it has exactly one shape.
      if (url.pathname.startsWith(ENDPOINT_PREFIX)) return dataPlane(request, targetOfPath(url.pathname), PUBLIC, env, ctx, config);
      if (url.pathname === "/healthz" && (request.method === "GET" || request.method === "HEAD")) {
        return Response.json({ ok: true }, { headers: { "x-request-id": requestIdFor(request) } });
      }
      // The keys origins check the Keygate-Assertion with: public, like /healthz.
      if (url.pathname === JWKS_PATH && (request.method === "GET" || request.method === "HEAD")) {
        return jwksResponse(request, config.assertionKeys);
      }
      return (await loadControlPlane()).fetch(request, env, ctx);
    },

    /**
     * The private endpoint, for the PrivateEndpoint entrypoint: every request is data plane, at
     * `/endpoint/{project}/{deployment}/…` of any host, on the private endpoint; `props` is the binding's.
     */
    async fetchPrivate(request: Request, env: Env, ctx: ExecutionContext, props: unknown): Promise<Response> {
      const config = configured(request, env);
      if (config instanceof Response) return config;
      const { pathname } = new URL(request.url);
      const target = pathname.startsWith(ENDPOINT_PREFIX) ? targetOfPath(pathname) : null;
      return dataPlane(request, target, { endpoint: "private", via: "binding", caller: callerOf(props) }, env, ctx, config);
    },
  };
}

const worker = createWorker({ fetch: (input, init) => fetch(input, init) });

export default { fetch: worker.fetch } satisfies ExportedHandler<Env>;

/**
 * The private endpoint: another Worker of the account reaches it through a service binding
 * (`entrypoint = "PrivateEndpoint"`); no public route does. `props` (set by whoever deploys the caller, e.g.
 * `{ caller = "billing-api" }`) names the caller in the log line. It shares the default export's caches.
 */
export class PrivateEndpoint extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Promise<Response> {
    return worker.fetchPrivate(request, this.env, this.ctx, this.ctx.props);
  }
}

/** Durable Object classes are found among the main module's exports (wrangler.toml binds BUDGETS to this one). */
export { BudgetCounter } from "./budgets/counter";
