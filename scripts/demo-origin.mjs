// demo-origin — a DEMO stand-in for an OpenAI-compatible inference server (vLLM, TGI, Ollama, …).
//
// It exists for local demos (`npm start`), hand tests and benchmarks, and is not a model server: it echoes what it is
// sent and answers `GET /debug/last-request` with the headers of the last request it received (origin credentials
// included). Never expose it beyond loopback, and never point a production deployment at it.
//
//   node scripts/demo-origin.mjs [--host 127.0.0.1] [--port 8788] [--chunk-delay-ms 20] [--api-key SECRET] [--verbose]
//   import { startDemoOrigin } from "./demo-origin.mjs";  const origin = await startDemoOrigin({ port: 0 });
//
// Routes: GET /v1/models, GET /v1/models/{id}, POST /v1/chat/completions (JSON, or SSE with "stream": true),
// POST /v1/completions (likewise), POST /v1/embeddings; GET /debug/last-request, GET /debug/stats. Anything else:
// 404 in OpenAI's error shape. Responses echo the `model` they received, so a test can see keygate's model rewrite.
// With an api key (option or DEMO_ORIGIN_API_KEY) the /v1 routes require `Authorization: Bearer <key>`, like
// `vllm serve --api-key`.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

export const DEMO_MODEL = "demo-model";
const MODEL_CREATED = 1_767_225_600; // 2026-01-01T00:00:00Z, fixed so responses are reproducible
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MAX_STREAM_CHUNKS = 8;
const EMBEDDING_DIMENSIONS = 8;
const DEBUG_NOTE =
  "demo origin only: shows what the origin received, credentials included; never run it as a real origin";

const modelObject = (id) => ({ id, object: "model", created: MODEL_CREATED, owned_by: "keygate-demo" });
const MODELS_BODY = Buffer.from(JSON.stringify({ object: "list", data: [modelObject(DEMO_MODEL)] }));

/**
 * Starts the demo origin. `port: 0` picks a free port. Resolves once it listens.
 * @param {{ host?: string, port?: number, chunkDelayMs?: number, apiKey?: string, verbose?: boolean }} [options]
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 */
export async function startDemoOrigin({
  host = "127.0.0.1",
  port = 8788,
  chunkDelayMs = Number(process.env.DEMO_CHUNK_DELAY_MS ?? 20),
  apiKey = process.env.DEMO_ORIGIN_API_KEY || undefined,
  verbose = false,
} = {}) {
  const state = { last: null, counter: 0, stats: { requests: 0, streams_started: 0, streams_completed: 0, streams_cancelled: 0 } };
  const server = createServer((req, res) => handle(req, res, { state, chunkDelayMs, apiKey, verbose }));
  // Keep idle connections open longer than typical client pools do, so a reused socket is never closed under a
  // request in flight (Node's default keep-alive timeout is 5 s).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(undefined);
    });
  });
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${actualPort}`;
  let closing;
  return {
    url,
    port: actualPort,
    close() {
      closing ??= new Promise((resolve) => {
        server.close(() => resolve(undefined));
        server.closeAllConnections(); // idle keep-alive sockets and open streams would otherwise hold it open
      });
      return closing;
    },
  };
}

function handle(req, res, ctx) {
  const chunks = [];
  let size = 0;
  req.on("data", (chunk) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  req.on("end", () => {
    const qIndex = req.url.indexOf("?");
    const path = qIndex === -1 ? req.url : req.url.slice(0, qIndex);
    const query = qIndex === -1 ? "" : req.url.slice(qIndex + 1);
    if (ctx.verbose) console.log(`demo-origin: ${req.method} ${req.url}`);
    if (size > MAX_BODY_BYTES) {
      return sendError(res, 413, "Request body too large for the demo origin.", "invalid_request_error", "request_too_large");
    }
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (!path.startsWith("/debug/")) {
      ctx.state.stats.requests++;
      ctx.state.last = { method: req.method, path, query, headers: req.headers, body }; // hashed only when asked for
    }
    try {
      route(req, res, path, body, ctx);
    } catch (err) {
      console.error("demo-origin: handler failed:", err);
      if (!res.headersSent) sendError(res, 500, "The demo origin failed.", "api_error", "internal_error");
      else res.destroy();
    }
  });
}

function route(req, res, path, body, ctx) {
  const { method } = req;
  if (method === "GET" && path === "/debug/last-request") return sendJson(res, 200, describeLastRequest(ctx.state.last));
  if (method === "GET" && path === "/debug/stats") return sendJson(res, 200, { note: DEBUG_NOTE, ...ctx.state.stats });
  if (path.startsWith("/v1/") && ctx.apiKey && req.headers.authorization !== `Bearer ${ctx.apiKey}`) {
    return sendError(res, 401, "The demo origin requires its API key.", "authentication_error", "invalid_api_key");
  }
  if (method === "GET" && path === "/v1/models") return sendRaw(res, 200, MODELS_BODY);
  if (method === "GET" && path.startsWith("/v1/models/")) {
    const id = decodeURIComponent(path.slice("/v1/models/".length));
    if (id === DEMO_MODEL) return sendJson(res, 200, modelObject(id));
    return sendError(res, 404, `The model '${id}' does not exist.`, "invalid_request_error", "model_not_found", "model");
  }
  if (method === "POST" && (path === "/v1/chat/completions" || path === "/v1/completions" || path === "/v1/embeddings")) {
    let input;
    try {
      input = JSON.parse(body.toString("utf8"));
    } catch {
      return sendInvalid(res, "The request body is not valid JSON.");
    }
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
      return sendInvalid(res, "The request body must be a JSON object.");
    }
    if (path === "/v1/embeddings") return embeddings(res, input);
    return completion(req, res, input, path === "/v1/chat/completions", ctx);
  }
  return sendError(res, 404, `Unknown request URL: ${method} ${path}.`, "invalid_request_error", "unknown_url");
}

function describeLastRequest(last) {
  if (!last) return { note: DEBUG_NOTE, method: null, path: null, query: null, headers: {}, body_bytes: 0, body_sha256: null };
  const { body, ...rest } = last;
  return { note: DEBUG_NOTE, ...rest, body_bytes: body.length, body_sha256: createHash("sha256").update(body).digest("hex") };
}

/** Chat completions and legacy completions: one reply text, sent whole or as SSE chunks. */
function completion(req, res, input, chat, ctx) {
  const model = typeof input.model === "string" ? input.model : DEMO_MODEL;
  const prompt = chat ? lastUserText(input.messages) : promptText(input.prompt);
  const reply = `You said: ${prompt}`;
  const id = `${chat ? "chatcmpl" : "cmpl"}-demo${++ctx.state.counter}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: countTokens(prompt), completion_tokens: countTokens(reply), total_tokens: 0 };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;

  if (input.stream !== true) {
    const choice = chat
      ? { index: 0, message: { role: "assistant", content: reply, refusal: null }, logprobs: null, finish_reason: "stop" }
      : { index: 0, text: reply, logprobs: null, finish_reason: "stop" };
    const object = chat ? "chat.completion" : "text_completion";
    return sendJson(res, 200, { id, object, created, model, choices: [choice], usage });
  }

  const object = chat ? "chat.completion.chunk" : "text_completion";
  const piece = (text, finish) =>
    chat
      ? { index: 0, delta: finish ? {} : { content: text }, logprobs: null, finish_reason: finish }
      : { index: 0, text, logprobs: null, finish_reason: finish };
  const events = [];
  if (chat) {
    const first = { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null };
    events.push({ id, object, created, model, choices: [first] });
  }
  for (const text of splitReply(reply)) events.push({ id, object, created, model, choices: [piece(text, null)] });
  events.push({ id, object, created, model, choices: [piece("", "stop")] });
  if (input.stream_options?.include_usage === true) {
    // As OpenAI does: every chunk says `"usage":null`, and one last chunk with no choices carries the usage.
    for (const event of events) event.usage = null;
    events.push({ id, object, created, model, choices: [], usage });
  }
  streamEvents(req, res, events, ctx);
}

function streamEvents(req, res, events, ctx) {
  const { stats } = ctx.state;
  stats.streams_started++;
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  let index = 0;
  let timer;
  const onClose = () => {
    clearTimeout(timer);
    if (!res.writableFinished) stats.streams_cancelled++;
  };
  res.once("close", onClose);
  const next = () => {
    if (res.destroyed) return;
    if (index < events.length) {
      res.write(`data: ${JSON.stringify(events[index++])}\n\n`);
      timer = setTimeout(next, ctx.chunkDelayMs);
      return;
    }
    stats.streams_completed++;
    res.end("data: [DONE]\n\n");
  };
  next();
}

function embeddings(res, input) {
  const model = typeof input.model === "string" ? input.model : DEMO_MODEL;
  const items = embeddingInputs(input.input);
  if (!items) {
    return sendInvalid(res, "'input' must be a string, an array of strings, or an array of token arrays.", "input");
  }
  const base64 = input.encoding_format === "base64";
  let tokens = 0;
  const data = items.map((item, index) => {
    const text = typeof item === "string" ? item : JSON.stringify(item);
    tokens += typeof item === "string" ? countTokens(item) : item.length;
    const vector = embed(text);
    const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
    return { object: "embedding", index, embedding };
  });
  sendJson(res, 200, { object: "list", data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

/** A deterministic unit vector from the text's SHA-256: same input, same vector, in any process. */
function embed(text) {
  const digest = createHash("sha256").update(text).digest();
  const raw = Array.from({ length: EMBEDDING_DIMENSIONS }, (_, i) => digest.readInt16BE(i * 2) / 32768);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

function embeddingInputs(input) {
  if (typeof input === "string") return [input];
  if (!Array.isArray(input) || input.length === 0) return null;
  if (input.every((x) => typeof x === "string")) return input;
  if (input.every((x) => Number.isInteger(x))) return [input]; // one pre-tokenised input
  if (input.every((x) => Array.isArray(x) && x.every(Number.isInteger))) return input;
  return null;
}

function lastUserText(messages) {
  if (!Array.isArray(messages)) return "";
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role !== "user") continue;
    if (typeof message.content === "string") return message.content;
    if (Array.isArray(message.content)) {
      const texts = message.content.filter((part) => part?.type === "text" && typeof part.text === "string");
      return texts.map((part) => part.text).join(" ");
    }
  }
  return "";
}

function promptText(prompt) {
  if (typeof prompt === "string") return prompt;
  if (Array.isArray(prompt) && typeof prompt[0] === "string") return prompt[0];
  return "";
}

/** Splits the reply at word boundaries into at most MAX_STREAM_CHUNKS pieces that join back to it exactly. */
function splitReply(reply) {
  const words = reply.match(/\S+\s*/g) ?? [reply];
  const perChunk = Math.ceil(words.length / MAX_STREAM_CHUNKS);
  const pieces = [];
  for (let i = 0; i < words.length; i += perChunk) pieces.push(words.slice(i, i + perChunk).join(""));
  return pieces;
}

const countTokens = (text) => (text.match(/\S+/g) ?? []).length;

function sendJson(res, status, value) {
  sendRaw(res, status, Buffer.from(JSON.stringify(value)));
}

function sendRaw(res, status, body) {
  // Content-Length (not chunked) keeps the connection reusable at the least cost.
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
}

function sendError(res, status, message, type, code, param = null) {
  sendJson(res, status, { error: { message, type, code, param } });
}

function sendInvalid(res, message, param = null) {
  sendError(res, 400, message, "invalid_request_error", "invalid_request", param);
}

async function main() {
  const { values } = parseArgs({
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: process.env.DEMO_ORIGIN_PORT ?? "8788" },
      "chunk-delay-ms": { type: "string" },
      "api-key": { type: "string" },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("usage: node scripts/demo-origin.mjs [--host 127.0.0.1] [--port 8788] [--chunk-delay-ms 20] " +
      "[--api-key KEY] [--verbose]");
    return;
  }
  const options = { host: values.host, port: Number(values.port), verbose: values.verbose };
  if (values["chunk-delay-ms"] !== undefined) options.chunkDelayMs = Number(values["chunk-delay-ms"]);
  if (values["api-key"] !== undefined) options.apiKey = values["api-key"];
  const origin = await startDemoOrigin(options);
  console.log(`demo origin (OpenAI-compatible stand-in, model "${DEMO_MODEL}") listening on ${origin.url}`);
  const stop = () => origin.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`demo origin: ${err.code === "EADDRINUSE" ? `port already in use (${err.message})` : err.message}`);
    process.exit(1);
  });
}
