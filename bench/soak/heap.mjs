/**
 * The Worker's JavaScript heap, read over workerd's V8 inspector (Chrome DevTools Protocol): a full garbage
 * collection first, then the bytes still in use. What is left after a GC is what the Worker holds on to, so a leak
 * in keygate shows here, where the process's resident memory also moves with workerd's own allocator and caches.
 *
 * An idle Worker never answers HeapProfiler.collectGarbage. V8 runs that command asynchronously: it posts the GC as a
 * task to the isolate's foreground task runner and answers once the task has run, and workerd (1.20261117.1 here) runs
 * those tasks only when something next enters the isolate. Runtime.getHeapUsage is answered at once. The soak's last
 * reading comes after its load has stopped, so its answer came only if keygate's work after the last answers (log
 * lines, usage flushes under waitUntil) still entered the isolate after the command: locally nearly always; on a
 * busy 2-core machine about 1 run in 3 got no answer, and the soak waited forever. A hello-world Worker shows the
 * same: no answer in 15 s, then one as soon as a request has run.
 * So while a command is unanswered the reader pokes the Worker with `poke()`, a cheap request, every POKE_MS. A poke
 * costs a few KiB of heap at most, far inside the check's margin, and only happens when an answer is late.
 */
import { connectInspector } from "../lib/inspector.mjs";

const POKE_MS = 1000;
/** A full GC of a small heap takes well under a second; this bounds a reading on a slow, shared machine. */
const ANSWER_TIMEOUT_MS = 30_000;

/** @param poke a request to the Worker, to wake an isolate that is sitting on an inspector command */
export async function connectHeapReader(inspectorUrl, { poke }) {
  const { send, waiting, close } = await connectInspector(inspectorUrl, { timeoutMs: ANSWER_TIMEOUT_MS });
  let pokes = 0;
  const call = async (method) => {
    const timer = setInterval(() => {
      pokes++;
      poke().catch(() => {}); // a failed poke changes nothing: the call's own timeout still bounds the wait
    }, POKE_MS);
    try {
      return await send(method);
    } finally {
      clearInterval(timer);
    }
  };
  return {
    /** MiB of JavaScript heap in use after a full GC. */
    async usedAfterGc() {
      await call("HeapProfiler.collectGarbage");
      const { usedSize } = await call("Runtime.getHeapUsage");
      return usedSize / 2 ** 20;
    },
    /** How many times a late answer needed a poke. */
    pokes: () => pokes,
    waiting,
    close,
  };
}
