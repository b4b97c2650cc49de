/**
 * The control plane: /admin/v1. Every route is authenticated (except the OpenAPI document and its docs page),
 * validated strictly by its zod schema, and filtered by project in its SQL.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import type { ZodError } from "zod";
import { waitOutLeases } from "../store/lease";
import { projectRevision } from "../store/projects";
import { REVISION_HEADER } from "../revision";
import type { AppBindings, Deps } from "../env";
import { ApiError } from "../errors";
import { accessVerifier } from "./access";
import { applications } from "./applications";
import { audit } from "./audit";
import { authenticate } from "./authenticate";
import { deployments } from "./deployments";
import { explain } from "./explain";
import { keyLinks } from "./key-links";
import { keys } from "./keys";
import { policies } from "./policies";
import { projects } from "./projects";
import { tokens } from "./tokens";

/** `["conditions", "ip_allow", 2]` → `conditions.ip_allow[2]`: the field a client has to fix. */
export function paramOf(path: readonly PropertyKey[]): string | null {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out || null;
}

function validationError(error: ZodError): ApiError {
  const issue = error.issues[0];
  if (!issue) return new ApiError("invalid_request");
  if (issue.code === "unrecognized_keys") {
    const field = paramOf([...issue.path, issue.keys[0] ?? ""]);
    return new ApiError("invalid_request", `Unknown field '${field}'.`, field);
  }
  const field = paramOf(issue.path);
  return new ApiError("invalid_request", field ? `Invalid '${field}': ${issue.message}.` : issue.message, field);
}

export function documentConfig(origin: string) {
  return {
    openapi: "3.1.0",
    info: {
      title: "keygate management API",
      version: "1",
      description:
        "Projects, deployments, API keys, applications and policies, and management tokens. Authenticate with `Authorization: Bearer " +
        "<ADMIN_TOKEN or ik_sdk_ token>` or a Cloudflare Access JWT. Errors use the OpenAI error shape. Every successful " +
        "write answers with `keygate-revision`: the project's revision after it; a data-plane request that starts after " +
        "that answer carries at least that revision.",
    },
    servers: [{ url: `${origin}/admin/v1` }],
    security: [{ bearer: [] }],
  };
}

export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

export function adminApp(deps: Deps) {
  const app = new OpenAPIHono<AppBindings>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error);
    },
  });

  app.doc31("/openapi.json", (c) => documentConfig(new URL(c.req.url).origin));
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });

  app.use("*", authenticate(accessVerifier(deps.fetch)));
  // Admin bodies are small JSON documents; refuse anything larger before it is read.
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_ADMIN_BODY_BYTES,
      onError: () => {
        throw new ApiError("request_too_large", `Management API bodies are limited to ${MAX_ADMIN_BODY_BYTES} bytes.`);
      },
    }),
  );
  // A write answers only once every cached read that could still hold the old state has expired
  // (src/store/lease.ts): the next request sees the change. It reports the project's revision read after the commit
  // (its own, or a later one), and the wait starts once that read has returned, so every write the reported revision
  // includes is waited out too: a request that starts after this answer carries at least that revision.
  app.use("*", async (c, next) => {
    await next();
    const written = c.get("wrote");
    if (written !== undefined) {
      // Reported on a successful write only: an error (a token revoked while its write ran) tells nothing.
      const succeeded = c.res.status < 400;
      const revision = succeeded ? await projectRevision(c.env.DB, written).catch(() => null) : null;
      await waitOutLeases(c.get("config").leaseMs);
      if (revision !== null) c.header(REVISION_HEADER, String(revision));
    }
    // Admin answers carry secrets (once) and tenant data: never cache them anywhere.
    c.header("cache-control", "no-store");
  });

  app.route("/", projects);
  app.route("/", deployments);
  app.route("/", keyLinks);
  app.route("/", keys);
  app.route("/", tokens);
  app.route("/", applications);
  app.route("/", policies);
  app.route("/", explain);
  app.route("/", audit);
  return app;
}
