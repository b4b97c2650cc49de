/**
 * The Worker: the data plane at /endpoint/…, the control plane at /admin/v1, /admin/docs and /healthz.
 * Dependencies with I/O beyond D1 (the outbound fetch used for origins and Access's JWKS) are parameters of
 * createWorker, so tests can play the origin and the identity provider.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { adminApp, documentConfig } from "./admin/app";
import { renderDocs } from "./admin/docs";
import type { AppBindings, Deps, Env } from "./env";
import { ApiError, errorResponse, toApiError } from "./errors";
import { ENDPOINT_PREFIX, handleEndpoint, type GatewayOutcome } from "./gateway/handle";
import { logLine } from "./log";
import { requestIdFor } from "./request-id";

function asApiError(err: unknown): ApiError {
  if (err instanceof HTTPException && err.status === 400) {
    // Hono's JSON validator throws this for a body that is not JSON.
    return new ApiError("invalid_request", "The request body is not valid JSON.", null, { cause: err });
  }
  return toApiError(err);
}

/** The internal reason of a 5xx, for the log only: the wire gets the ApiError's public message. */
function internalReason(apiError: ApiError): string | undefined {
  if (apiError.status < 500) return undefined;
  const cause = apiError.cause ?? apiError;
  return cause instanceof Error ? cause.message : String(cause);
}

export function createWorker(deps: Deps) {
  const admin = adminApp(deps);
  const app = new Hono<AppBindings>();
  app.use("*", async (c, next) => {
    c.set("requestId", requestIdFor(c.req.raw));
    await next();
    c.header("x-request-id", c.get("requestId"));
  });
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/admin/docs", (c) => c.html(renderDocs(admin.getOpenAPI31Document(documentConfig(new URL(c.req.url).origin)))));
  app.route("/admin/v1", admin);
  app.notFound(() => {
    throw new ApiError("not_found", "No such route. The data plane is /endpoint/{project}/{deployment}/…, the API /admin/v1.");
  });
  app.onError((err, c) => {
    const requestId = c.get("requestId") ?? requestIdFor(c.req.raw);
    const apiError = asApiError(err);
    const reason = internalReason(apiError);
    if (reason !== undefined) logLine({ level: "error", request_id: requestId, code: apiError.code, error: reason });
    return errorResponse(apiError, requestId);
  });

  return {
    async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
      // The data plane skips the router: it is the hot path, and it has exactly one shape.
      const url = new URL(request.url);
      if (!url.pathname.startsWith(ENDPOINT_PREFIX)) return app.fetch(request, env, ctx);
      const started = Date.now();
      const requestId = requestIdFor(request);
      const outcome: GatewayOutcome = { project: "", deployment: "", keyId: null, decision: "error" };
      let response: Response;
      let error: string | undefined;
      try {
        response = await handleEndpoint(request, url, env, ctx, deps, requestId, outcome);
      } catch (err) {
        const apiError = asApiError(err);
        response = errorResponse(apiError, requestId);
        outcome.decision = apiError.code;
        error = internalReason(apiError);
      }
      // One line per request; a 5xx carries its internal reason here rather than in a second line.
      logLine({
        msg: "endpoint",
        request_id: requestId,
        project: outcome.project,
        deployment: outcome.deployment,
        key_id: outcome.keyId,
        decision: outcome.decision,
        status: response.status,
        latency_ms: Date.now() - started,
        ...(error === undefined ? {} : { error }),
      });
      return response;
    },
  };
}

export default createWorker({ fetch: (input, init) => fetch(input, init) }) satisfies ExportedHandler<Env>;
