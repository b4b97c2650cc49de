/**
 * Streamed chat, measured from the client's side: for each request, the time from sending it to the first SSE
 * event (time to first chunk), and the gaps between consecutive events. The origin sends its first event at once
 * and then one every `chunkMs`, so through a proxy that does not buffer, the gaps stay at the origin's interval.
 *
 * The client is a bare TCP socket speaking HTTP/1.1 (one kept-alive connection, one stream after another), not
 * node:http: its request and parser machinery cost about 0.6 ms per request on this machine, which would sit in
 * every time-to-first-chunk. Responses must be chunked (what an SSE stream of unknown length is).
 */
import { connect } from "node:net";
import { performance } from "node:perf_hooks";
import { median, percentile } from "./stats.mjs";

function rawRequest(url, headers, body) {
  const u = new URL(url);
  const lines = [`POST ${u.pathname}${u.search} HTTP/1.1`, `host: ${u.host}`, `content-length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n${body}`);
}

/** A kept-alive connection that sends one request at a time and reports when each SSE event completes. */
async function openConnection(url) {
  const u = new URL(url);
  const socket = connect({ host: u.hostname, port: Number(u.port), noDelay: true });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let onData = () => {};
  socket.on("data", (data) => onData(data, performance.now()));
  const send = (request) => new Promise((resolve, reject) => {
    let raw = Buffer.alloc(0); // bytes not yet parsed
    let head = null; // { status, type } once the header block is in
    let text = ""; // de-chunked body not yet split into events
    const events = [];
    const closed = () => fail(new Error("the server closed the connection mid-response"));
    const settle = () => { socket.off("error", fail); socket.off("close", closed); onData = () => {}; };
    const fail = (err) => { settle(); reject(err); };
    socket.once("error", fail);
    socket.once("close", closed);
    onData = (data, now) => {
      raw = Buffer.concat([raw, data]);
      if (!head) {
        const end = raw.indexOf("\r\n\r\n");
        if (end < 0) return;
        const block = raw.subarray(0, end).toString("latin1");
        head = { status: Number(block.split(" ")[1]), type: /\r\ncontent-type:\s*([^\r]*)/i.exec(block)?.[1] ?? "",
          chunked: /\r\ntransfer-encoding:\s*chunked/i.test(block) };
        raw = raw.subarray(end + 4);
        if (!head.chunked) return fail(new Error(`expected a chunked response, got status ${head.status}`));
      }
      for (;;) { // chunked framing: "<hex size>\r\n<data>\r\n", ended by a zero-size chunk
        const line = raw.indexOf("\r\n");
        if (line < 0) return;
        const size = parseInt(raw.subarray(0, line).toString("latin1"), 16);
        if (raw.length < line + 2 + size + 2) return;
        if (size === 0) {
          settle();
          return resolve({ ...head, t0: request.t0, events });
        }
        text += raw.subarray(line + 2, line + 2 + size).toString("utf8");
        raw = raw.subarray(line + 2 + size + 2);
        let end;
        while ((end = text.indexOf("\n\n")) >= 0) {
          const event = text.slice(0, end);
          text = text.slice(end + 2);
          if (event.startsWith("data: ") && event !== "data: [DONE]") events.push(now);
        }
      }
    };
    request.t0 = performance.now();
    socket.write(request.bytes);
  });
  return { send, close: () => socket.destroy() };
}

/**
 * Runs `warmup` unmeasured streams, then `streams` measured ones. Returns the status counts, how many streams
 * carried the expected number of events, and time-to-first-chunk and gap statistics in milliseconds.
 */
export async function measureStreams({ url, headers, body }, { streams, warmup = 2, expectEvents }) {
  const connection = await openConnection(url);
  const bytes = rawRequest(url, headers, body);
  try {
    for (let i = 0; i < warmup; i++) await connection.send({ bytes });
    const ttfc = [];
    const gaps = [];
    const statuses = {};
    let complete = 0;
    for (let i = 0; i < streams; i++) {
      const s = await connection.send({ bytes });
      statuses[s.status] = (statuses[s.status] ?? 0) + 1;
      if (s.status !== 200) continue;
      if (s.events.length === expectEvents && s.type.startsWith("text/event-stream")) complete++;
      if (s.events.length > 0) ttfc.push(s.events[0] - s.t0);
      for (let j = 1; j < s.events.length; j++) gaps.push(s.events[j] - s.events[j - 1]);
    }
    ttfc.sort((a, b) => a - b);
    gaps.sort((a, b) => a - b);
    return {
      streams,
      complete,
      statuses,
      ttfc_p50_ms: median(ttfc),
      ttfc_p99_ms: percentile(ttfc, 99),
      gap_p50_ms: median(gaps),
      gap_p99_ms: percentile(gaps, 99),
    };
  } finally {
    connection.close();
  }
}
