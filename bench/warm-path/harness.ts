/**
 * The in-process warm-path microbenchmark's harness (`npm run bench -- --warm-path`, driven by bench/warm-path.mjs):
 * keygate's fetch handler and a bare pass-through handler called directly in one isolate, with a stub origin that
 * answers at once, so what is timed is JavaScript and the runtime's own objects (Headers, Request, Response,
 * streams), with no socket, no HTTP parser and no other process in the way.
 *
 * Why batches and not a microbenchmark library's per-iteration timing: workerd's clock (`performance.now()`,
 * `Date.now()`) ticks in whole milliseconds, as it does in production as a Spectre mitigation, so one iteration of a
 * few microseconds reads as 0 or 1 ms. A batch runs n iterations between two clock readings; the driver sizes n so a
 * batch takes tens of milliseconds (±1 ms of clock is then a few per cent) and takes medians over interleaved batches.
 *
 * Only `createWorker` of keygate is used here, so the same harness also runs against an older commit (`--baseline`).
 *
 *   GET /tasks        → {name: what it includes}
 *   GET /warm         → one request through keygate, so its caches hold the key before any batch: {status}
 *   GET /run?task&n   → one batch: {ms, n}
 */
import type { Env } from "../../src/env";
import { createWorker } from "../../src/index";
import chatRequest from "../lib/chat-request.json";
import completion from "../lib/completion.json";

export interface BenchEnv extends Env {
  /** The warm key, and an unknown one (well-formed, in no table), set by the driver. */
  BENCH_KEY: string;
  BENCH_UNKNOWN_KEY: string;
  /** This Worker, through a service binding: a request sent there is a request of its own (see ownRequestTasks). */
  SELF: Fetcher;
}

const CHAT_URL = "https://keygate.bench/endpoint/bench/chat/v1/chat/completions";
/** A line like keygate's endpoint log line, for what one console.log costs a handler that does not write one. */
const LINE = JSON.stringify({ msg: "endpoint", request_id: "req_0123456789abcdef0123456789abcdef", project: "bench",
  deployment: "chat", endpoint: "public", key_id: "key_0123456789abcdefghjkmnpqrs", decision: "allow", status: 200, latency_ms: 0 });
// The chat body every bench client sends (bench/lib/client.mjs).
const BODY = JSON.stringify(chatRequest);
// The stand-in origin's answer: bench/origin.mjs sends the same over HTTP.
const ANSWER = JSON.stringify(completion);
const ANSWER_HEADERS = { "content-type": "application/json", "content-length": String(ANSWER.length) };

/** The origin's answer as the runtime's fetch() would hand it over. */
export const originAnswer = (): Response => new Response(ANSWER, { headers: ANSWER_HEADERS });

/** The stub origin: reads the request body, as an origin would, and answers at once. */
export async function stubOrigin(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const request = input instanceof Request && init === undefined ? input : new Request(input, init);
  await request.arrayBuffer();
  return originAnswer();
}

/** What a client sends to every target, as the h2load bench does: a JSON body with its length, the edge's facts. */
export function clientRequest(secret: string, target: string | null = null): Request {
  return new Request(CHAT_URL, {
    method: "POST",
    headers: {
      ...(target === null ? {} : { [TARGET_HEADER]: target }),
      authorization: `Bearer ${secret}`,
      "content-type": "application/json",
      "content-length": String(BODY.length),
      "user-agent": "h2load nghttp2/1.52.0",
      "cf-connecting-ip": "203.0.113.7",
    },
    body: BODY,
    cf: { country: "NL", asn: 64500, colo: "AMS" },
  });
}

/** The control: bench/passthrough.js's mapping, calling the same stub origin. */
const ENDPOINT = /^\/endpoint\/[^/]+\/[^/]+(\/.*)$/;
const passThrough = {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const rest = ENDPOINT.exec(url.pathname)?.[1] ?? url.pathname;
    return stubOrigin(new Request("http://origin.bench" + rest + url.search, request));
  },
};

const keygate = createWorker({ fetch: stubOrigin });

/**
 * The bench request's own context, as handlers see theirs: what they leave to run after the answer (a usage write,
 * a refresh-ahead validation) keeps the bench request alive, after the batch's clock has stopped.
 */
class Context {
  readonly props = {};
  constructor(private readonly real: ExecutionContext) {}
  waitUntil(promise: Promise<unknown>): void {
    this.real.waitUntil(promise.catch(() => undefined));
  }
  passThroughOnException(): void {}
}

/** One batch: `prepare(n)` runs before the clock starts, `run(i)` n times between two clock readings. */
export interface Task {
  /** What it includes, for the report. */
  about: string;
  prepare?: (n: number) => Promise<void> | void;
  run: (i: number) => unknown;
}

/** Per batch: the environment, and the bench request's context. */
export interface Batch {
  env: BenchEnv;
  ctx: ExecutionContext;
}

/** n fresh client requests, made before the clock starts (a request's body can be read once). */
export class Requests {
  private list: Request[] = [];
  constructor(
    private readonly secret: string,
    private readonly target: string | null = null,
  ) {}
  readonly prepare = (n: number) => {
    this.list = Array.from({ length: n }, () => clientRequest(this.secret, this.target));
  };
  at(i: number): Request {
    return this.list[i]!;
  }
}

/** The whole request as a client sees it, for keygate (warm key, unknown key) and the pass-through control. */
export function wholeTasks(batch: Batch): Record<string, Task> {
  const whole = (handler: { fetch(r: Request, e: Env, c: ExecutionContext): Promise<Response> }, secret: string) => {
    const requests = new Requests(secret);
    return {
      prepare: requests.prepare,
      run: async (i: number) => (await handler.fetch(requests.at(i), batch.env, batch.ctx)).arrayBuffer(),
    };
  };
  const muted = whole(keygate, batch.env.BENCH_KEY);
  return {
    "pass-through": { about: "bench/passthrough.js's handler and the stub origin, body read", ...whole(passThrough, batch.env.BENCH_KEY) },
    "pass-through + a log line": { about: "the pass-through, then one console.log of a line like keygate's",
      ...whole({ fetch: async (r: Request) => {
        const response = await passThrough.fetch(r);
        console.log(LINE);
        return response;
      } }, batch.env.BENCH_KEY) },
    "keygate, console muted": { about: "keygate's handler with console.log a no-op: what the log line costs, by difference",
      prepare: muted.prepare,
      run: async (i: number) => {
        const log = console.log;
        console.log = () => {};
        try {
          return await muted.run(i);
        } finally {
          console.log = log;
        }
      } },
    keygate: { about: "keygate's fetch handler, warm key, and the stub origin, body read", ...whole(keygate, batch.env.BENCH_KEY) },
    "keygate, unknown key": { about: "a well-formed key in no table (negative cache): 401",
      ...whole(keygate, batch.env.BENCH_UNKNOWN_KEY) },
  };
}

/** Which target a request sent through SELF is for. */
const TARGET_HEADER = "x-bench-target";
const noop = (): void => {};

/**
 * What a request of its own costs for keygate, for the pass-through, and for one thing the runtime does per request
 * (a timer, a listener, a log line…) on top of answering at once. A request sent through the SELF service binding gets
 * its own request context, as a request from the network does, so what the runtime does per request context (timers,
 * `request.signal`, `console.log`, `request.cf`) costs here what it costs there; the binding's own cost is the same
 * for every target ("answer at once" shows it).
 */
const OWN_REQUEST_TARGETS: Record<string, { about: string; handle: (r: Request, env: BenchEnv, ctx: ExecutionContext) => Promise<Response> | Response }> = {
  keygate: { about: "keygate's handler, warm key, stub origin", handle: (r, env, ctx) => keygate.fetch(r, env, ctx) },
  "pass-through": { about: "the pass-through and the stub origin", handle: (r) => passThrough.fetch(r) },
  "answer at once": { about: "a fixed answer: what any request costs here", handle: () => new Response("ok") },
  "+ timer set and cleared": { about: "setTimeout(), clearTimeout(), then the fixed answer",
    handle: () => (clearTimeout(setTimeout(noop, 60_000)), new Response("ok")) },
  "+ listener on request.signal": { about: "request.signal.addEventListener(), then the fixed answer",
    handle: (r) => (r.signal.addEventListener("abort", noop, { once: true }), new Response("ok")) },
  "+ AbortController": { about: "new AbortController() and a listener on its signal, then the fixed answer",
    handle: () => (new AbortController().signal.addEventListener("abort", noop, { once: true }), new Response("ok")) },
  "+ request.cf read": { about: "request.cf.country, then the fixed answer", handle: (r) => new Response(String(r.cf?.country)) },
  "+ one console.log": { about: "console.log() of a line like keygate's, then the fixed answer",
    handle: () => (console.log(LINE), new Response("ok")) },
};

/** Every own-request target as a task: the bench request sends n requests through SELF, one after the other. */
export function ownRequestTasks(batch: Batch): Record<string, Task> {
  return Object.fromEntries(Object.entries(OWN_REQUEST_TARGETS).map(([name, { about }]) => {
    const requests = new Requests(batch.env.BENCH_KEY, name);
    return [`own request: ${name}`, { about: `${about}; each its own request (SELF)`, prepare: requests.prepare,
      run: async (i: number) => (await batch.env.SELF.fetch(requests.at(i))).arrayBuffer() }];
  }));
}

/** The Worker that runs batches of `tasks(batch)`, built once on the first request. */
export function benchWorker(tasks: (batch: Batch) => Promise<Record<string, Task>>) {
  let table: Promise<Record<string, Task>> | null = null;
  const batch = {} as Batch;
  return {
    async fetch(request: Request, env: BenchEnv, real: ExecutionContext): Promise<Response> {
      const target = request.headers.get(TARGET_HEADER);
      if (target !== null) return OWN_REQUEST_TARGETS[target]!.handle(request, env, real);
      const url = new URL(request.url);
      batch.env = env;
      // workers-types' ExecutionContext has members no handler here uses (exports, tracing, …).
      batch.ctx = new Context(real) as unknown as ExecutionContext;
      if (url.pathname === "/warm") {
        const response = await keygate.fetch(clientRequest(env.BENCH_KEY), env, batch.ctx);
        await response.arrayBuffer();
        return Response.json({ status: response.status });
      }
      table ??= tasks(batch);
      const all = await table;
      if (url.pathname === "/tasks") return Response.json(Object.fromEntries(Object.entries(all).map(([name, t]) => [name, t.about])));
      const task = all[url.searchParams.get("task") ?? ""];
      const n = Number(url.searchParams.get("n"));
      if (task === undefined || !Number.isInteger(n) || n < 1) return new Response("unknown task or bad n", { status: 400 });
      await task.prepare?.(n);
      const started = performance.now();
      for (let i = 0; i < n; i++) {
        const result = task.run(i);
        // Awaited only when asynchronous: an await per call would add a microtask to the synchronous stages.
        if (result instanceof Promise) await result;
      }
      return Response.json({ ms: performance.now() - started, n });
    },
  };
}
