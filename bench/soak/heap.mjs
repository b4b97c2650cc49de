/**
 * The Worker's JavaScript heap, read over workerd's V8 inspector (Chrome DevTools Protocol): a full garbage
 * collection first, then the bytes still in use. What is left after a GC is what the Worker holds on to, so a leak
 * in keygate shows here, where the process's resident memory also moves with workerd's own allocator and caches.
 */
import { connectInspector } from "../lib/inspector.mjs";

export async function connectHeapReader(inspectorUrl) {
  const { send, close } = await connectInspector(inspectorUrl);
  return {
    /** MiB of JavaScript heap in use after a full GC. */
    async usedAfterGc() {
      await send("HeapProfiler.collectGarbage");
      const { usedSize } = await send("Runtime.getHeapUsage");
      return usedSize / 2 ** 20;
    },
    close,
  };
}
