// keygate as a newcomer runs it: `node scripts/start.mjs` (what `npm start` runs), on free ports, with its local
// state in a fresh temporary directory, so each test file starts from an empty database and leaves nothing behind.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const HOST = "127.0.0.1";
const DEV_VARS = join(ROOT, ".dev.vars");
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;

export interface Keygate {
  /** keygate (wrangler dev), e.g. http://127.0.0.1:40123 */
  url: string;
  /** the demo origin npm start runs next to it */
  originUrl: string;
  port: number;
  originPort: number;
  /** the root admin token, from .dev.vars */
  adminToken: string;
  /** everything start.mjs (and the wrangler dev it runs) printed so far */
  output(): string;
  /** Ctrl-C, as a user stops it; resolves once start.mjs has exited (idempotent). */
  stop(): Promise<Exit>;
  /** start.mjs, if still running, and the process groups it started that still have a process (Linux only) */
  leftovers(): number[];
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  /** extra environment for start.mjs, e.g. DEMO_CHUNK_DELAY_MS for the demo origin */
  env?: Record<string, string>;
  /** keygate variables over wrangler.toml and .dev.vars (`npm start -- --var NAME:VALUE`) */
  vars?: Record<string, string>;
}

/** Starts `node scripts/start.mjs --port P --origin-port Q` with KEYGATE_STATE_DIR set, and waits until ready. */
export async function startKeygate(options: StartOptions = {}): Promise<Keygate> {
  const [port, originPort] = await freePorts(2);
  const stateDir = await mkdtemp(join(tmpdir(), "keygate-e2e-"));
  // npm start creates .dev.vars when it is missing, as it does for a newcomer; we remove it again only if we made it.
  const devVarsExisted = existsSync(DEV_VARS);

  const child = spawn(
    process.execPath,
    [
      join(ROOT, "scripts", "start.mjs"),
      "--port",
      String(port),
      "--origin-port",
      String(originPort),
      ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    ],
    {
      cwd: ROOT,
      // No origin API key from the caller's environment: the deployments here send none.
      env: { ...process.env, DEMO_ORIGIN_API_KEY: "", ...options.env, KEYGATE_STATE_DIR: stateDir },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", (err) => {
      output += `\nspawning start.mjs failed: ${err.message}\n`;
      resolve({ code: null, signal: null });
    });
  });
  const emergencyStop = () => interrupt(child);
  process.once("exit", emergencyStop);

  let groups: number[] = [];
  let stopping: Promise<Exit> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      try {
        interrupt(child);
        const result = await Promise.race([exited, sleep(STOP_TIMEOUT_MS).then(() => null)]);
        if (result) return result;
        child.kill("SIGKILL");
        for (const group of groups) signalGroup(group, "SIGKILL");
        await exited;
        throw new Error(`start.mjs did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGINT\n${tail(output)}`);
      } finally {
        process.off("exit", emergencyStop);
        rmSync(stateDir, { recursive: true, force: true });
        if (!devVarsExisted) rmSync(DEV_VARS, { force: true });
      }
    })());

  const url = `http://${HOST}:${port}`;
  try {
    await waitForHealth(`${url}/healthz`, exited, () => output);
    // start.mjs runs wrangler dev in a process group of its own (wrangler and workerd): remember it, so a test can
    // check that Ctrl-C left nothing running.
    groups = childPids(child.pid!);
    const adminToken = readAdminToken();
    return {
      url,
      originUrl: `http://${HOST}:${originPort}`,
      port,
      originPort,
      adminToken,
      output: () => output,
      stop,
      leftovers: () => {
        const alive = groups.filter((group) => signalGroup(group, 0));
        return child.exitCode === null && child.signalCode === null ? [child.pid!, ...alive] : alive;
      },
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

async function waitForHealth(url: string, exited: Promise<unknown>, output: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`start.mjs exited before keygate was ready\n${tail(output())}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`keygate was not ready at ${url} after ${READY_TIMEOUT_MS / 1000} s\n${tail(output())}`);
}

function readAdminToken(): string {
  const match = /^ADMIN_TOKEN=(.+)$/m.exec(readFileSync(DEV_VARS, "utf8"));
  if (!match) throw new Error(`${DEV_VARS} has no ADMIN_TOKEN line; the admin API cannot be called`);
  return match[1]!.trim();
}

/** Ports that were free a moment ago, all different (each is held open until all are known). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, HOST, () => resolve());
      });
    }
    return servers.map((server) => {
      const address = server.address();
      if (!address || typeof address === "string") throw new Error("no port");
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** True when nothing listens on `port` (we can listen there ourselves). */
export async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => (err.code === "EADDRINUSE" ? resolve(false) : reject(err)));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

function interrupt(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
}

/** The direct children of `pid`, read from /proc (Linux); empty where there is no /proc. */
function childPids(pid: number): number[] {
  if (!existsSync("/proc")) return [];
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return children;
}

function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

const tail = (text: string, chars = 6000) => (text.length > chars ? `…${text.slice(-chars)}` : text);

/** Calls the management API as the root admin; throws with the response body unless the status is `expected`. */
export async function admin<T = Record<string, unknown>>(
  keygate: Keygate,
  method: string,
  path: string,
  body?: unknown,
  expected = method === "POST" ? 201 : 200,
): Promise<T> {
  const res = await fetch(`${keygate.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${keygate.adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expected) {
    throw new Error(`${method} /admin/v1${path}: ${res.status} (expected ${expected}): ${text}`);
  }
  return JSON.parse(text) as T;
}

/**
 * The shell commands of one README section: its ```sh blocks between `<!-- {name}:begin -->` and
 * `<!-- {name}:end -->`, joined in order, so a test runs exactly what a reader copies.
 */
export function readmeScript(readme: string, name: string): string {
  const begin = readme.indexOf(`<!-- ${name}:begin -->`);
  const end = readme.indexOf(`<!-- ${name}:end -->`);
  if (begin === -1 || end < begin) throw new Error(`README.md has no <!-- ${name}:begin/end --> section`);
  const blocks = [...readme.slice(begin, end).matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  if (blocks.length === 0) throw new Error(`the README's ${name} section has no \`\`\`sh blocks`);
  return blocks.join("\n");
}

/** Runs README commands with bash -euo pipefail against a running keygate, as the reader's shell would; its stdout. */
export async function runReadmeScript(keygate: Keygate, script: string): Promise<string> {
  const run = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", script], {
    cwd: ROOT,
    env: {
      ...process.env,
      KEYGATE: keygate.url,
      DEMO_ORIGIN: keygate.originUrl,
      PATH: [join(ROOT, "node_modules", ".bin"), process.env.PATH].join(delimiter),
    },
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`the README's commands failed: ${err.message}\n--- stdout\n${err.stdout}\n--- stderr\n${err.stderr}\n` +
      `--- npm start\n${keygate.output().slice(-4000)}`);
  });
  return run.stdout;
}
