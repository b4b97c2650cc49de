/**
 * The control plane: /admin/v1. Every route is authenticated (except the OpenAPI document and its docs page),
 * validated strictly by its zod schema, and filtered by project in its SQL.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { waitOutLeases } from "../store/lease";
import { projectRevision } from "../store/projects";
import { REVISION_HEADER } from "../revision";
import type { AppBindings, Deps } from "../env";
import { ApiError } from "../errors";
import { accessVerifier } from "./access";
import { applications } from "./applications";
import { audit } from "./audit";
import { budgets } from "./budgets";
import { authenticate } from "./authenticate";
import { deployments } from "./deployments";
import { explain } from "./explain";
import { keyLinks } from "./key-links";
import { keys } from "./keys";
import { openApiDocument } from "./openapi";
import { policies } from "./policies";
import { projects } from "./projects";
import { mountRoute } from "./route";
import { tokens } from "./tokens";
import { usage } from "./usage";

/** Every management route, in the order the document lists them. */
const ROUTES = [projects, deployments, keyLinks, keys, tokens, applications, policies, budgets, usage, explain, audit].flatMap(
  (r) => r.list,
);

/** The management API's OpenAPI document, as served to a client of `origin` (its server URL is on that origin). */
export function adminDocument(origin: string) {
  return openApiDocument(
    ROUTES.map((route) => route.spec),
    {
      info: {
        title: "keygate management API",
        version: "1",
        description:
          "Projects, deployments, API keys, applications and policies, token budgets and usage, and management tokens. Authenticate with `Authorization: Bearer " +
          "<ADMIN_TOKEN or ik_sdk_ token>` or a Cloudflare Access JWT. Errors use the OpenAI error shape. Every successful " +
          "write answers with `keygate-revision`: the project's revision after it; a data-plane request that starts after " +
          "that answer carries at least that revision.",
      },
      servers: [{ url: `${origin}/admin/v1` }],
      // Every documented route needs a credential: `authenticate` (below) runs before each of them.
      security: [{ bearer: [] }],
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
  );
}

export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

export function adminApp(deps: Deps) {
  const app = new Hono<AppBindings>();

  app.get("/openapi.json", (c) => c.json(adminDocument(new URL(c.req.url).origin)));

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

  for (const route of ROUTES) mountRoute(app, route);
  return app;
}
