/**
 * The warm-path microbenchmark (harness.ts says how it runs): the whole request through keygate and through the
 * pass-through control, and each stage of keygate's data plane on its own — the same function the handler calls,
 * with the inputs of the warm request — so the difference between the two handlers can be read stage by stage.
 */
import { authorize } from "../../src/authz/authorize";
import { readDataPlaneCredential } from "../../src/authz/credential";
import { isPathAllowed, normalizeRestPath } from "../../src/authz/paths";
import { configOf } from "../../src/config";
import { ApiError, errorResponse } from "../../src/errors";
import { PUBLIC } from "../../src/gateway/arrival";
import { forwardToOrigin } from "../../src/gateway/forward";
import { RequestFactsOf } from "../../src/gateway/facts";
import { targetOfPath } from "../../src/gateway/handle";
import { filterDownstream, filterUpstream } from "../../src/gateway/headers";
import { RequestMetering } from "../../src/gateway/metering";
import { UsageRecorder } from "../../src/gateway/usage";
import { upstreamBody } from "../../src/gateway/request-body";
import { meterWhole } from "../../src/metering/response";
import { logLine } from "../../src/log";
import { requestIdFor } from "../../src/request-id";
import { AuthCache } from "../../src/store/auth-cache";
import { benchWorker, clientRequest, originAnswer, ownRequestTasks, Requests, stubOrigin, wholeTasks, type Batch, type Task } from "./harness";

/** A call never given up on. */
const NEVER = new Promise<never>(() => undefined);
const REQUEST_ID = "req_0123456789abcdef0123456789abcdef";

async function stageTasks(batch: Batch): Promise<Record<string, Task>> {
  const { env } = batch;
  const config = configOf(env);
  const request = clientRequest(env.BENCH_KEY);
  const credential = readDataPlaneCredential(request.headers);
  const secret = credential.kind === "secret" ? credential.secret : null;
  const cache = new AuthCache(config.cacheMaxEntries);
  const records = await cache.records(env.DB, config, "bench", "chat", secret, Date.now(), batch.ctx);
  const { key, deployment } = records;
  if (key === null || deployment === null) throw new Error("the bench key or deployment is not in D1");
  const facts = new RequestFactsOf(request, PUBLIC);
  const target = targetOfPath(new URL(request.url).pathname)!;
  const usage = new UsageRecorder();
  const requests = new Requests(env.BENCH_KEY);
  let answers: Response[] = [];

  return {
    "stage: config": { about: "configOf(env): the parsed configuration, kept per isolate", run: () => configOf(env) },
    "stage: request id": { about: "requestIdFor(): no client id, so a fresh random one", run: () => requestIdFor(request) },
    "stage: url + target": { about: "new URL() of the request and the /endpoint/{p}/{d} split",
      run: () => targetOfPath(new URL(request.url).pathname) },
    "stage: credential": { about: "readDataPlaneCredential(): header reads, format and checksum",
      run: () => readDataPlaneCredential(request.headers) },
    "stage: facts": { about: "the request's facts for conditions, read as the decision needs them (none here)",
      run: () => new RequestFactsOf(request, PUBLIC) },
    "stage: cache": { about: "AuthCache.records() for the warm key and deployment (awaited)",
      run: () => cache.records(env.DB, config, "bench", "chat", secret, Date.now(), batch.ctx) },
    "stage: decision": { about: "authorize(): every check, the path's included",
      run: () => authorize({ credential, key, deployment, projectSlug: "bench", method: "POST", rawPath: target.rest, facts,
        now: Date.now() }) },
    "stage: path": { about: "normalizeRestPath() and isPathAllowed() alone (part of the decision)",
      run: () => isPathAllowed(normalizeRestPath(target.rest)!, deployment.allowedPaths) },
    "stage: usage": { about: "UsageRecorder.used() and ended() for the key (one batch per isolate per 5 s, in waitUntil)",
      run: () => {
        usage.used(key.id, Date.now());
        usage.ended(env.DB, batch.ctx, config.usageFlushMs, { projectId: deployment.projectId, deployment: deployment.slug,
          keyId: key.id, at: Date.now(), promptTokens: 10, completionTokens: 20, estimatedTokens: 0 });
      } },
    "stage: upstream headers": { about: "a copy of the client's headers, filterUpstream() in place, x-request-id set",
      run: () => filterUpstream(new Headers(request.headers), deployment.originHeaders, REQUEST_ID) },
    "stage: forward": { about: "forwardToOrigin() on a fresh request, stub origin included, body read",
      prepare: requests.prepare,
      run: async (i) => (await forwardToOrigin(requests.at(i), deployment, "/v1/chat/completions", {
        fetch: stubOrigin, requestId: REQUEST_ID, maxBodyBytes: config.maxBodyBytes, timeoutMs: config.originTimeoutMs,
        bodyTimeoutMs: config.bodyTimeoutMs, keyId: key.id, assertionKeys: config.assertionKeys })).arrayBuffer() },
    "stage: forward, metered": { about: "forwardToOrigin() as above, metered as an unbudgeted key's request is (body and answer read)",
      prepare: requests.prepare,
      run: async (i) => {
        const metering = new RequestMetering({ env, ctx: batch.ctx, usage, flushMs: config.usageFlushMs, requestId: REQUEST_ID,
          deployment, keyId: key.id, budgets: [] }, "chat");
        return (await forwardToOrigin(requests.at(i), deployment, "/v1/chat/completions", {
          fetch: stubOrigin, requestId: REQUEST_ID, maxBodyBytes: config.maxBodyBytes, timeoutMs: config.originTimeoutMs,
          bodyTimeoutMs: config.bodyTimeoutMs, keyId: key.id, assertionKeys: config.assertionKeys, metering })).arrayBuffer();
      } },
    "stage: request body read": { about: "upstreamBody() reading a chat body to ask a stream for usage (no hard budget)",
      prepare: requests.prepare,
      run: (i) => upstreamBody(requests.at(i), { model: null, maxBodyBytes: config.maxBodyBytes, givenUp: NEVER,
        onTooLarge: () => undefined, inspect: { route: "chat", inject: true, capOutput: null, streamOnly: true } }) },
    "stage: answer read whole": { about: "the origin's JSON answer read whole, its usage found, a new Response of the bytes",
      prepare: (n) => void (answers = Array.from({ length: n }, originAnswer)),
      run: async (i) => {
        const bytes = new Uint8Array(await answers[i]!.arrayBuffer());
        meterWhole(bytes, { route: "chat", inputEstimate: 20 });
        return new Response(bytes, answers[i]!);
      } },
    "origin stub": { about: "the stub origin alone on a fresh request, body read (every handler pays it)",
      prepare: requests.prepare, run: async (i) => (await stubOrigin(requests.at(i))).arrayBuffer() },
    "stage: response wrap": { about: "a new Response around the origin's, filterDownstream() in place",
      prepare: (n) => void (answers = Array.from({ length: n }, originAnswer)),
      run: (i) => filterDownstream(new Response(answers[i]!.body, answers[i]!).headers) },
    "stage: log line": { about: "logLine() of the warm request's fields (JSON.stringify and console.log)",
      run: () => logLine({ msg: "endpoint", request_id: REQUEST_ID, project: "bench", deployment: "chat", endpoint: "public",
        key_id: key.id, decision: "allow", status: 200, latency_ms: 0 }) },
    "stage: denial": { about: "a 401 as the handler makes it: the ApiError and errorResponse()",
      run: () => errorResponse(new ApiError("invalid_api_key"), REQUEST_ID) },
  };
}

// wrangler bundles this entry with keygate's wrangler.toml, which binds the BudgetCounter class: it must be exported.
export { BudgetCounter } from "../../src/budgets/counter";

export default benchWorker(async (batch) => ({ ...wholeTasks(batch), ...ownRequestTasks(batch), ...(await stageTasks(batch)) }));
