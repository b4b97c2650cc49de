/**
 * A management route, declared once: its method, path, parameters, body, responses, summary and tags. The same
 * declaration registers the Hono handler behind its validators (mountRoute) and describes the route in the OpenAPI
 * document (openapi.ts), so the document cannot drift from what the API checks.
 */
import { zValidator } from "@hono/zod-validator";
import type { Context, Hono, MiddlewareHandler, TypedResponse } from "hono";
import type { JSONParsed } from "hono/utils/types";
import type * as z from "zod";
import type { AppBindings } from "../env";
import { jsonOnly, throwIfInvalid } from "./validation";

export type Method = "get" | "post" | "put" | "patch" | "delete";

/** An answer: every one keygate gives is a JSON document of `schema`. */
export interface ResponseSpec {
  readonly description: string;
  readonly schema: z.ZodType;
}

export interface RouteSpec {
  readonly method: Method;
  /** Relative to /admin/v1, parameters in OpenAPI's form: `/projects/{project}`. */
  readonly path: string;
  readonly tags: readonly string[];
  readonly summary: string;
  /** Named like Hono's validation targets, so a handler reads each with `c.req.valid("param" | "query" | "json")`. */
  readonly request?: {
    /** The path parameters, one property each. */
    readonly param?: z.ZodObject;
    /** The query parameters, one property each. */
    readonly query?: z.ZodObject;
    /** A required JSON body. */
    readonly json?: z.ZodType;
  };
  readonly responses: Readonly<Record<number, ResponseSpec>>;
}

type Request<R extends RouteSpec> = NonNullable<R["request"]>;
type Validated<R extends RouteSpec> = { [T in keyof Request<R>]: z.output<NonNullable<Request<R>[T]>> };

/** What a handler may answer: a declared 2xx status with a body of that status's schema. */
type SuccessResponse<R extends RouteSpec> = {
  [S in keyof R["responses"]]: S extends 200 | 201
    ? TypedResponse<JSONParsed<z.output<R["responses"][S]["schema"]>>, S, "json">
    : never;
}[keyof R["responses"]];

export type RouteHandler<R extends RouteSpec> = (
  c: Context<AppBindings, string, { out: Validated<R> }>,
) => Promise<SuccessResponse<R>>;

export interface Route {
  readonly spec: RouteSpec;
  readonly handler: (c: Context<AppBindings>) => Promise<Response>;
}

/** The routes of one resource, in the order the document lists them. */
export class Routes {
  readonly list: Route[] = [];

  add<const R extends RouteSpec>(spec: R, handler: RouteHandler<R>): void {
    // The handler's parameter is typed from `spec`; mountRoute puts the validators that make that true before it.
    this.list.push({ spec, handler: handler as unknown as Route["handler"] });
  }
}

/**
 * Registers the route on the app: its validators, then its handler. The order is @hono/zod-openapi's (query, path,
 * body), kept so that a request wrong in several places is still told about the same one first.
 */
export function mountRoute(app: Hono<AppBindings>, { spec, handler }: Route): void {
  const { param, query, json } = spec.request ?? {};
  const validators: MiddlewareHandler<AppBindings>[] = [];
  if (query) validators.push(zValidator("query", query, throwIfInvalid));
  if (param) validators.push(zValidator("param", param, throwIfInvalid));
  if (json) validators.push(jsonOnly, zValidator("json", json, throwIfInvalid));
  app.on([spec.method.toUpperCase()], [spec.path.replace(/\{([^}]+)\}/g, ":$1")], ...validators, handler);
}
