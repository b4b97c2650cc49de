/**
 * The benchmark's stand-in origin: a deliberately small OpenAI-compatible server, so the origin's own cost is
 * fixed and tiny next to what is being measured.
 *   POST …/v1/chat/completions   fixed JSON (about 300 bytes); with `"stream": true` in the body, an SSE stream of
 *                                `chunks` events, the first at once, then one every `chunkMs` milliseconds; with
 *                                `stream_options.include_usage` too, as OpenAI does: `"usage":null` in every chunk
 *                                and one more chunk, with no choices, carrying the usage
 *   GET  …/v1/models             fixed JSON
 * Paths are matched by their ending, so the pass-through worker may forward `/endpoint/p/d/v1/…` unchanged.
 *
 * Run as its own process (`node bench/origin.mjs --chunks 8 --chunk-ms 10`, or spawnOrigin() below): it prints one
 * JSON line `{"url", "port", "pid"}` on stdout when listening.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

// The answer to a chat completion, shared with the in-process bench's stub origin (bench/warm-path/harness.ts).
const COMPLETION = JSON.stringify(JSON.parse(readFileSync(new URL("./lib/completion.json", import.meta.url), "utf8")));
const MODELS = JSON.stringify({ object: "list", data: [{ id: "bench-model", object: "model", owned_by: "bench" }] });

function chunkEvent(i, includeUsage) {
  const chunk = { id: "chatcmpl-bench", object: "chat.completion.chunk", model: "bench-model",
    choices: [{ index: 0, delta: { content: `token${i} ` }, finish_reason: null }], ...(includeUsage ? { usage: null } : {}) };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

function usageEvent(chunks) {
  const chunk = { id: "chatcmpl-bench", object: "chat.completion.chunk", model: "bench-model", choices: [],
    usage: { prompt_tokens: 12, completion_tokens: chunks, total_tokens: 12 + chunks } };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

function sendJson(res, status, body) {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function stream(req, res, { chunks, chunkMs, includeUsage }) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let i = 0;
  let timer;
  const next = () => {
    if (i < chunks) {
      res.write(chunkEvent(i++, includeUsage));
      timer = setTimeout(next, chunkMs);
    } else {
      res.end(`${includeUsage ? usageEvent(chunks) : ""}data: [DONE]\n\n`);
    }
  };
  res.on("close", () => clearTimeout(timer));
  next();
}

export function startOrigin({ host = "127.0.0.1", port = 0, chunks = 8, chunkMs = 10 } = {}) {
  const server = createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
    const parts = [];
    req.on("data", (part) => parts.push(part));
    req.on("end", () => {
      const path = req.url.split("?")[0];
      if (req.method === "POST" && path.endsWith("/v1/chat/completions")) {
        let body;
        try {
          body = JSON.parse(Buffer.concat(parts).toString("utf8"));
        } catch {
          return sendJson(res, 400, '{"error":{"message":"bad json"}}');
        }
        const includeUsage = body.stream_options?.include_usage === true;
        return body.stream === true ? stream(req, res, { chunks, chunkMs, includeUsage }) : sendJson(res, 200, COMPLETION);
      }
      if (req.method === "GET" && path.endsWith("/v1/models")) return sendJson(res, 200, MODELS);
      sendJson(res, 404, '{"error":{"message":"not found"}}');
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const actual = server.address().port;
      resolve({
        url: `http://${host}:${actual}`,
        port: actual,
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
      });
    });
  });
}

/**
 * Starts the origin in its own Node process (so its CPU is measured apart and it never shares an event loop with
 * the clients). However the parent ends — Miniflare's exit hook may end it on Ctrl-C before any cleanup runs — the
 * origin goes too: it is killed on the parent's exit, and it stops by itself when the IPC channel closes.
 */
export function spawnOrigin({ chunks, chunkMs }) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--chunks", String(chunks), "--chunk-ms",
    String(chunkMs)], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
  const killOnExit = () => child.kill("SIGTERM");
  process.once("exit", killOnExit);
  const exited = new Promise((resolve) => child.once("exit", resolve)).finally(() => process.off("exit", killOnExit));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    createInterface({ input: child.stdout }).once("line", (line) => resolve({
      ...JSON.parse(line),
      pid: child.pid,
      close: () => {
        child.kill("SIGTERM");
        const force = setTimeout(() => child.kill("SIGKILL"), 2000);
        return exited.finally(() => clearTimeout(force));
      },
    }));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const origin = await startOrigin({ port: arg("port", 0), chunks: arg("chunks", 8), chunkMs: arg("chunk-ms", 10) });
  process.stdout.write(JSON.stringify({ url: origin.url, port: origin.port, pid: process.pid }) + "\n");
  const stop = () => {
    setTimeout(() => process.exit(0), 500).unref();
    origin.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("disconnect", stop);
}
