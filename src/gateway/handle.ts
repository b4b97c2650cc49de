/**
 * The data plane: /endpoint/{project}/{deployment}/{rest}.
 *   credential (parsed, no I/O) → records (lease cache or one D1 query) → auth toggle → decision → path → forward.
 * Denials are values turned into the contract's errors; a failing store throws store_unavailable and the origin
 * is never called (fail closed).
 */
import { readDataPlaneCredential } from "../authz/credential";
import { authorize } from "../authz/decide";
import type { Decision, RequestFacts } from "../authz/types";
import type { Deps, Env } from "../env";
import { ApiError } from "../errors";
import { forwardToOrigin } from "./forward";
import { isPathAllowed, normalizeRestPath } from "./paths";
import { authRecords } from "./records";
import { enforceRateLimit } from "./rate-limit";
import { recordUse } from "./usage";

export const ENDPOINT_PREFIX = "/endpoint/";
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
export const DEFAULT_ORIGIN_TIMEOUT_MS = 120_000;

/** What one request did, for the single structured log line the Worker writes. */
export interface GatewayOutcome {
  project: string;
  deployment: string;
  keyId: string | null;
  decision: string;
}

function positiveInt(raw: string | undefined, fallback: number): number {
  const value = Number(raw);
  return raw !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}

function factsOf(request: Request): RequestFacts {
  const cf = request.cf as IncomingRequestCfProperties | undefined;
  return {
    clientIp: request.headers.get("cf-connecting-ip"),
    country: typeof cf?.country === "string" ? cf.country : null,
    asn: typeof cf?.asn === "number" ? cf.asn : null,
    userAgent: request.headers.get("user-agent"),
  };
}

/** Splits `/endpoint/{project}/{deployment}{rest}` on the raw (still encoded) path. */
function route(pathname: string): { project: string; deployment: string; rest: string } | null {
  const tail = pathname.slice(ENDPOINT_PREFIX.length);
  const first = tail.indexOf("/");
  if (first <= 0) return null;
  const second = tail.indexOf("/", first + 1);
  const deployment = second < 0 ? tail.slice(first + 1) : tail.slice(first + 1, second);
  if (deployment === "") return null;
  return { project: tail.slice(0, first), deployment, rest: second < 0 ? "" : tail.slice(second) };
}

function deny(decision: Extract<Decision, { ok: false }>): never {
  throw new ApiError(decision.code, decision.code === "condition_not_met" ? `Condition not met: ${decision.reason}.` : undefined);
}

export async function handleEndpoint(
  request: Request,
  url: URL,
  env: Env,
  ctx: ExecutionContext,
  deps: Deps,
  requestId: string,
  outcome: GatewayOutcome,
): Promise<Response> {
  const target = route(url.pathname);
  if (!target) throw new ApiError("not_found", "Call /endpoint/{project}/{deployment}/v1/… .");
  outcome.project = target.project;
  outcome.deployment = target.deployment;

  const now = Date.now();
  const credential = readDataPlaneCredential(request.headers);
  const secret = credential.kind === "secret" ? credential.secret : null;
  const { deployment, key } = await authRecords(env, target.project, target.deployment, secret, now);

  // With auth turned off every request passes, with or without a key (the OpenAI SDK always sends one); an
  // unknown deployment still demands a credential first, so its absence is only told to an authenticated caller.
  if (deployment === null || deployment.authEnabled) {
    if (credential.kind === "none") throw new ApiError("missing_api_key");
    if (credential.kind === "error") throw new ApiError(credential.code);
    const decision = authorize({ key, deployment, projectSlug: target.project, facts: factsOf(request), now });
    outcome.keyId = key?.id ?? null;
    if (!decision.ok) deny(decision);
  }
  if (deployment === null) throw new ApiError("not_found"); // authorize() already denied; this narrows the type

  const path = normalizeRestPath(target.rest);
  if (path === null || !isPathAllowed(path, deployment.allowedPaths)) {
    throw new ApiError("not_found", "This path is not served by this deployment.");
  }
  if (deployment.authEnabled && key) {
    await enforceRateLimit(env, key.id, requestId);
    recordUse(env, ctx, key.id, now);
  }
  outcome.decision = "allow";
  return forwardToOrigin(request, deployment, path, {
    fetch: deps.fetch,
    requestId,
    maxBodyBytes: positiveInt(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
    timeoutMs: positiveInt(env.ORIGIN_TIMEOUT_MS, DEFAULT_ORIGIN_TIMEOUT_MS),
  });
}
