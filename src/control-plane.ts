/**
 * The control plane: /admin/v1 (the management API), /admin/docs, the web console (/console), and the answer to any route that is not the data
 * plane. Loaded on the first such request (index.ts imports it lazily), so a data-plane cold start builds none of
 * its zod schemas.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { adminApp, adminDocument } from "./admin/app";
import { renderDocs } from "./admin/docs";
import { configOf } from "./config";
import { consoleApp } from "./console/app";
import type { AppBindings, Deps } from "./env";
import { ApiError, errorResponse, internalReason, toApiError } from "./errors";
import { logLine } from "./log";
import { requestIdFor } from "./request-id";

/** Hono's own exceptions in the contract's words: what a client sent wrong is a 400, never a 500. */
function asApiError(err: unknown): ApiError {
  if (err instanceof HTTPException && err.status === 400) {
    // Hono's JSON validator throws this for a body that is not JSON.
    return new ApiError("invalid_request", "The request body is not valid JSON.", null, { cause: err });
  }
  return toApiError(err);
}

export function controlPlane(deps: Deps) {
  const admin = adminApp(deps);
  const app = new Hono<AppBindings>();
  app.use("*", async (c, next) => {
    c.set("requestId", requestIdFor(c.req.raw));
    c.set("config", configOf(c.env));
    await next();
    c.header("x-request-id", c.get("requestId"));
  });
  app.get("/admin/docs", (c) => c.html(renderDocs(adminDocument(new URL(c.req.url).origin))));
  app.route("/admin/v1", admin);
  app.route("/console", consoleApp());
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
  return app;
}

export type ControlPlane = ReturnType<typeof controlPlane>;
