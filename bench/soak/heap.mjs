/**
 * The Worker's JavaScript heap, read over workerd's V8 inspector (Chrome DevTools Protocol): a full garbage
 * collection first, then the bytes still in use. What is left after a GC is what the Worker holds on to, so a leak
 * in keygate shows here, where the process's resident memory also moves with workerd's own allocator and caches.
 */
export async function connectHeapReader(inspectorUrl) {
  const socket = new WebSocket(inspectorUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", () => reject(new Error(`cannot reach the inspector at ${inspectorUrl}`)), { once: true });
  });
  let next = 0;
  const waiting = new Map();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    const pending = waiting.get(message.id);
    if (!pending) return;
    waiting.delete(message.id);
    if (message.error) pending.reject(new Error(`${message.error.message}`));
    else pending.resolve(message.result);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      waiting.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    /** MiB of JavaScript heap in use after a full GC. */
    async usedAfterGc() {
      await send("HeapProfiler.collectGarbage");
      const { usedSize } = await send("Runtime.getHeapUsage");
      return usedSize / 2 ** 20;
    },
    close: () => socket.close(),
  };
}
