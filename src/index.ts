/**
 * The Worker: the data plane at /endpoint/…, the control plane (/admin/v1, /admin/docs) for everything else, and
 * /healthz. Dependencies with I/O beyond D1 (the outbound fetch used for origins and Access's JWKS) are parameters
 * of createWorker, so tests can play the origin and the identity provider; the state kept between requests (the
 * authorization cache, usage counters, the control plane) belongs to the object it returns, so a test gets fresh
 * state by building a new one.
 */
import { configOf, type Config } from "./config";
import type { ControlPlane } from "./control-plane";
import type { Deps, Env } from "./env";
import { errorResponse, internalReason, toApiError } from "./errors";
import { ENDPOINT_PREFIX, handleEndpoint, type GatewayOutcome, type GatewayState } from "./gateway/handle";
import { UsageRecorder } from "./gateway/usage";
import { logLine } from "./log";
import { requestIdFor } from "./request-id";
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

  async function dataPlane(request: Request, url: URL, env: Env, ctx: ExecutionContext, config: Config) {
    const started = Date.now();
    const requestId = requestIdFor(request);
    const outcome: GatewayOutcome = { project: "", deployment: "", keyId: null, decision: "error" };
    let response: Response;
    let error: string | undefined;
    try {
      const state = gatewayState(config);
      response = await handleEndpoint(request, url, { env, ctx, deps, config, state, requestId }, outcome);
    } catch (err) {
      const apiError = toApiError(err);
      response = errorResponse(apiError, requestId);
      outcome.decision = apiError.code;
      outcome.reason ??= apiError.code;
      error = internalReason(apiError);
    }
    // One line per request: the denial's reason, or a 5xx's internal cause, rather than a second line.
    logLine({
      msg: "endpoint",
      request_id: requestId,
      project: outcome.project,
      deployment: outcome.deployment,
      key_id: outcome.keyId,
      decision: outcome.decision,
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
      status: response.status,
      latency_ms: Date.now() - started,
      ...(error === undefined ? {} : { error }),
    });
    return response;
  }

  return {
    async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
      let config: Config;
      try {
        config = configOf(env);
      } catch (err) {
        // A security setting that does not parse: refuse everything until it is fixed (config.ts).
        const requestId = requestIdFor(request);
        const apiError = toApiError(err);
        logLine({ level: "error", msg: "configuration", request_id: requestId, error: internalReason(apiError) });
        return errorResponse(apiError, requestId);
      }
      // The data plane skips the router: it is the hot path, and it has exactly one shape.
      const url = new URL(request.url);
      if (url.pathname.startsWith(ENDPOINT_PREFIX)) return dataPlane(request, url, env, ctx, config);
      if (url.pathname === "/healthz" && (request.method === "GET" || request.method === "HEAD")) {
        return Response.json({ ok: true }, { headers: { "x-request-id": requestIdFor(request) } });
      }
      return (await loadControlPlane()).fetch(request, env, ctx);
    },
  };
}

export default createWorker({ fetch: (input, init) => fetch(input, init) }) satisfies ExportedHandler<Env>;
