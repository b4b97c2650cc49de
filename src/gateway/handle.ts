/**
 * The data plane: /endpoint/{project}/{deployment}/{rest}, or `{deployment}.{project}.{ENDPOINT_HOST_SUFFIX}/{rest}`,
 * arriving on the public or the private endpoint (arrival.ts). Only I/O lives here:
 *   preflight (the method) → credential (parsed, no I/O) → records (lease cache or one D1 query) → authorize()
 *   → rate limit → forward.
 * Every rule is in authorize() (src/authz/authorize.ts); a denial comes back as a value and leaves as the
 * contract's error; a failing store throws and the origin is never called (fail closed).
 */
import { authorize, openWithoutKey, preflight } from "../authz/authorize";
import { readDataPlaneCredential } from "../authz/credential";
import type { BudgetRef, Decision, Denial, DeploymentRecord, Endpoint, KeyRecord } from "../authz/types";
import { meteredRoute } from "../metering/request";
import type { Config } from "../config";
import type { Deps, Env } from "../env";
import { ApiError, ERROR_CODES } from "../errors";
import type { AuthCache } from "../store/auth-cache";
import type { AuthRecords } from "../store/authorization";
import { forwardToOrigin } from "./forward";
import { enforceRateLimit } from "./rate-limit";
import type { Arrival } from "./arrival";
import { RequestFactsOf } from "./facts";
import { BudgetRefused } from "./budget-gate";
import { RequestMetering } from "./metering";
import type { UsageRecorder } from "./usage";

export const ENDPOINT_PREFIX = "/endpoint/";

/** What the data plane keeps between requests: owned by the Worker instance (createWorker). */
export interface GatewayState {
  authCache: AuthCache;
  usage: UsageRecorder;
}

/** What one request did, for the single structured log line the Worker writes. */
export interface GatewayOutcome {
  project: string;
  deployment: string;
  keyId: string | null;
  /** "allow", or the error code answered. */
  decision: string;
  /** Why it was denied (authz/types.ts DenialReason), for operators; absent when allowed. */
  reason?: string;
  endpoint: "public" | "private";
  /** Who called through the PrivateEndpoint service binding, as its `props` name it. */
  caller?: string;
  /** The budget that refused the request (429 `insufficient_quota`), for operators. */
  budgetId?: string;
  /** The project revision the answer reports (`keygate-revision`), when the contract lets it say one. */
  revision?: number;
}

export interface EndpointContext {
  env: Env;
  ctx: ExecutionContext;
  deps: Deps;
  config: Config;
  state: GatewayState;
  requestId: string;
}

/** Which deployment a request names, and the path after it (still percent-encoded). */
export interface EndpointTarget {
  project: string;
  deployment: string;
  rest: string;
}

/** Splits `/endpoint/{project}/{deployment}{rest}` on the raw (still encoded) path. */
export function targetOfPath(pathname: string): EndpointTarget | null {
  const tail = pathname.slice(ENDPOINT_PREFIX.length);
  const first = tail.indexOf("/");
  if (first <= 0) return null;
  const second = tail.indexOf("/", first + 1);
  const deployment = second < 0 ? tail.slice(first + 1) : tail.slice(first + 1, second);
  if (deployment === "") return null;
  return { project: tail.slice(0, first), deployment, rest: second < 0 ? "" : tail.slice(second) };
}

/**
 * `{deployment}.{project}.{suffix}` → the same target as `/endpoint/{project}/{deployment}`, the whole path being
 * `{rest}`; null for any other host (exactly two labels before the suffix: slugs hold no dots).
 */
export function targetOfHost(hostname: string, pathname: string, suffix: string): EndpointTarget | null {
  const host = hostname.toLowerCase();
  if (!host.endsWith(`.${suffix}`)) return null;
  const labels = host.slice(0, -suffix.length - 1).split(".");
  if (labels.length !== 2 || labels[0] === "" || labels[1] === "") return null;
  return { project: labels[1]!, deployment: labels[0]!, rest: pathname === "/" ? "" : pathname };
}

/**
 * The revision that decided the request, for a caller the project knows: the key's project's when the key belongs
 * to the URL's project, the project's when this endpoint of the deployment needs no key. Null for a 401 (it would tell
 * an anonymous caller that the project exists) and for a key of another project.
 */
function decidedRevision({ key, deployment, project, keyProject }: AuthRecords, decision: Decision, endpoint: Endpoint) {
  if (project === null || (!decision.ok && ERROR_CODES[decision.code].status === 401)) return null;
  if (key !== null && decision.keyId === key.id) return keyProject?.projectId === project.projectId ? keyProject.revision : null;
  if (deployment !== null && decision.keyId === null && openWithoutKey(deployment, endpoint)) return project.revision;
  return null;
}

/** A denial leaves as the contract's error; its reason goes to the log line. */
function deny(denial: Denial, outcome: GatewayOutcome): never {
  outcome.reason = denial.reason;
  throw new ApiError(denial.code, denial.message, null, denial.headers ? { headers: denial.headers } : undefined);
}

export async function handleEndpoint(
  request: Request,
  target: EndpointTarget | null,
  arrival: Arrival,
  { env, ctx, deps, config, state, requestId }: EndpointContext,
  outcome: GatewayOutcome,
): Promise<Response> {
  if (!target) {
    outcome.reason = "bad_route";
    throw new ApiError("not_found", "Call /endpoint/{project}/{deployment}/v1/… .");
  }
  outcome.project = target.project;
  outcome.deployment = target.deployment;

  const facts = new RequestFactsOf(request, arrival);
  const early = preflight(request.method, facts);
  if (early !== null) deny(early, outcome);

  const now = Date.now();
  const credential = readDataPlaneCredential(request.headers);
  const secret = credential.kind === "secret" ? credential.secret : null;
  const records = await state.authCache.records(env.DB, config, target.project, target.deployment, secret, now, ctx);
  const { deployment, key } = records;
  const decision = authorize({
    credential,
    key,
    deployment,
    projectSlug: target.project,
    method: request.method,
    rawPath: target.rest,
    facts,
    now,
  });
  outcome.keyId = decision.keyId;
  const revision = decidedRevision(records, decision, facts.endpoint);
  if (revision !== null) outcome.revision = revision;
  if (!decision.ok) deny(decision, outcome);
  if (decision.keyId !== null) await enforceRateLimit(env.KEY_RATE_LIMITER, config.rateLimitPeriodS, decision.keyId, requestId);
  const metering = new RequestMetering(
    {
      env,
      ctx,
      usage: state.usage,
      flushMs: config.usageFlushMs,
      requestId,
      deployment: decision.deployment,
      keyId: decision.keyId,
      budgets: budgetsCovering(decision.deployment, decision.keyId === null ? null : key),
    },
    meteredRoute(request.method, decision.path),
  );
  // Settling a budget after the answer must outlive it; an unbudgeted request's end only notes usage in memory (whose
  // write has a waitUntil of its own), so it costs no waitUntil here.
  if (metering.budgeted) ctx.waitUntil(metering.finished);
  outcome.decision = "allow";
  try {
    return await forwardToOrigin(request, decision.deployment, decision.path, {
      fetch: deps.fetch,
      requestId,
      maxBodyBytes: config.maxBodyBytes,
      timeoutMs: config.originTimeoutMs,
      bodyTimeoutMs: config.bodyTimeoutMs,
      keyId: decision.keyId,
      assertionKeys: config.assertionKeys,
      metering,
    });
  } catch (err) {
    metering.abandon();
    if (err instanceof BudgetRefused) {
      outcome.reason = err.reason;
      outcome.budgetId = err.budgetId;
    }
    throw err;
  }
}

/** The project's budgets, and the key's own and its application's (a key of this project only: it was allowed). */
function budgetsCovering(deployment: DeploymentRecord, key: KeyRecord | null): readonly BudgetRef[] {
  if (key === null || key.budgets.length === 0) return deployment.projectBudgets;
  if (deployment.projectBudgets.length === 0) return key.budgets;
  return [...deployment.projectBudgets, ...key.budgets];
}
