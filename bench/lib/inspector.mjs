/**
 * A Chrome DevTools Protocol client for workerd's V8 inspector: `send(method, params)` answers the result.
 *
 * Every wait is bounded, so a caller never waits forever: the socket must open within OPEN_TIMEOUT_MS, and a call
 * rejects when its answer has not come within `timeoutMs`, or at once when the socket closes or fails (no answer can
 * come any more). `waiting()` names the calls still unanswered, for a caller that has to say where it is stuck.
 */
const OPEN_TIMEOUT_MS = 10_000;

/** @param timeoutMs the longest wait for one answer (a CPU profile of a busy Worker can take seconds to stop) */
export async function connectInspector(inspectorUrl, { timeoutMs = 60_000 } = {}) {
  const socket = new WebSocket(inspectorUrl);
  await new Promise((resolve, reject) => {
    const opening = new AbortController(); // removes these listeners once the wait is over
    const settle = (why) => {
      clearTimeout(timer);
      opening.abort();
      if (why === null) return resolve();
      socket.close();
      reject(new Error(`cannot reach the inspector at ${inspectorUrl}: ${why}`));
    };
    const timer = setTimeout(() => settle(`not open after ${OPEN_TIMEOUT_MS / 1000} s`), OPEN_TIMEOUT_MS);
    const { signal } = opening;
    socket.addEventListener("open", () => settle(null), { signal });
    socket.addEventListener("error", () => settle("the connection failed"), { signal });
    socket.addEventListener("close", () => settle("the connection closed"), { signal });
  });

  let next = 0;
  const waiting = new Map(); // id → { method, sentAt, settle(err, result) }
  let broken = null; // why no answer can come any more
  const breakAll = (why) => {
    broken ??= new Error(`the inspector connection ${why}`);
    for (const call of waiting.values()) call.settle(broken);
  };
  socket.addEventListener("close", (event) => breakAll(`closed (code ${event.code})`));
  socket.addEventListener("error", () => breakAll("failed"));
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    const call = waiting.get(message.id);
    if (!call) return; // an event, or an answer that came after its call gave up
    if (message.error) call.settle(new Error(`${call.method}: ${message.error.message}`));
    else call.settle(null, message.result);
  });

  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        if (broken) return reject(broken);
        const id = ++next;
        const late = new Error(`the inspector gave no answer to ${method} within ${timeoutMs / 1000} s`);
        const timer = setTimeout(() => waiting.get(id)?.settle(late), timeoutMs);
        const settle = (err, result) => {
          clearTimeout(timer);
          waiting.delete(id);
          if (err) reject(err);
          else resolve(result);
        };
        waiting.set(id, { method, sentAt: performance.now(), settle });
        socket.send(JSON.stringify({ id, method, params }));
      }),
    /** The calls not answered yet: "Method (for N s)". */
    waiting: () =>
      [...waiting.values()].map((call) => `${call.method} (for ${((performance.now() - call.sentAt) / 1000).toFixed(1)} s)`),
    close: () => socket.close(),
  };
}
