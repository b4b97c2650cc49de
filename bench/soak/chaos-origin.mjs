/**
 * The soak's origin: an OpenAI-shaped server on loopback that misbehaves at random, the ways real origins do.
 * Each request draws one behaviour:
 *   ok        200 JSON (a chat completion)           stream    200 SSE, a few events
 *   refuse    the connection is destroyed at once     stall     no answer until keygate gives up
 *   reset     headers and part of a stream, then the connection is destroyed
 *   garbage   bytes that are not HTTP                 huge      a 64 KiB response header
 * It records the `x-request-id` of every request it receives, so the soak can tell which requests keygate allowed.
 */
import { createServer } from "node:http";

export const BEHAVIOURS = { ok: 0.42, stream: 0.18, refuse: 0.08, stall: 0.04, reset: 0.1, garbage: 0.08, huge: 0.1 };

function draw(random, behaviours) {
  let r = random();
  for (const [name, weight] of Object.entries(behaviours)) {
    if ((r -= weight) < 0) return name;
  }
  return "ok";
}

const COMPLETION = JSON.stringify({
  id: "chatcmpl-soak",
  object: "chat.completion",
  model: "soak-model",
  choices: [{ index: 0, message: { role: "assistant", content: "soak" }, finish_reason: "stop" }],
});

/** @param only one behaviour for every request (to look at one failure at a time); default: the mix above */
export async function startChaosOrigin({ random = Math.random, only = null } = {}) {
  const behaviours = only === null ? BEHAVIOURS : { [only]: 1 };
  if (only !== null && !(only in BEHAVIOURS)) throw new Error(`unknown origin behaviour ${only}`);
  const received = new Set();
  const counts = Object.fromEntries(Object.keys(BEHAVIOURS).map((name) => [name, 0]));
  const stalled = new Set();
  const server = createServer((req, res) => {
    const id = req.headers["x-request-id"];
    if (typeof id === "string") received.add(id);
    req.resume(); // read and drop the body
    const behaviour = draw(random, behaviours);
    counts[behaviour]++;
    switch (behaviour) {
      case "ok":
        res.writeHead(200, { "content-type": "application/json" }).end(COMPLETION);
        return;
      case "stream": {
        res.writeHead(200, { "content-type": "text/event-stream" });
        let i = 0;
        const timer = setInterval(() => {
          if (i++ === 3) {
            clearInterval(timer);
            res.end("data: [DONE]\n\n");
          } else res.write(`data: {"choices":[{"delta":{"content":"t${i}"}}]}\n\n`);
        }, 5);
        res.on("close", () => clearInterval(timer));
        return;
      }
      case "refuse":
        req.socket.destroy();
        return;
      case "stall":
        stalled.add(res);
        res.on("close", () => stalled.delete(res));
        return;
      case "reset":
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write('data: {"choices":[{"delta":{"content":"partial"}}]}\n\n');
        setTimeout(() => req.socket.destroy(), 5);
        return;
      case "garbage":
        req.socket.end("HTTZ/9.9 ??? \u0000\u0001 not http at all\r\n\r\n");
        return;
      case "huge":
        res.writeHead(200, { "content-type": "application/json", "x-huge": "h".repeat(64 * 1024) }).end(COMPLETION);
        return;
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    counts,
    close: () =>
      new Promise((resolve) => {
        for (const res of stalled) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
