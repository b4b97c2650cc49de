/**
 * DataClient: what application code holds, an `ik_live_` key, and the deployments it calls.
 *
 *   const data = new DataClient({ project: "acme" });        // key from KEYGATE_API_KEY
 *   const ai = await data.openai("chat");                     // the official openai client, pointed at keygate
 *   const answer = await ai.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "hi" }] });
 */
import type { Environment } from "./settings.ts";
import { baseUrlOf, processEnvironment, requiredCredential, requiredSetting } from "./settings.ts";
import { fillPath } from "./transport.ts";

export interface DataClientOptions {
  /** keygate's address (else KEYGATE_BASE_URL, else http://127.0.0.1:8787). */
  baseUrl?: string;
  /** An `ik_live_` API key (else KEYGATE_API_KEY; required). */
  apiKey?: string;
  /** The project whose deployments this client calls (else KEYGATE_PROJECT; required). */
  project?: string;
  /** Where KEYGATE_* variables are read (default: process.env where there is one). */
  env?: Environment;
  fetch?: typeof fetch;
}

const CLIENT = "DataClient";

export class DataClient {
  readonly baseUrl: string;
  readonly project: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch | undefined;

  constructor(options: DataClientOptions = {}) {
    const env = options.env ?? processEnvironment();
    this.baseUrl = baseUrlOf(CLIENT, options.baseUrl, env);
    this.#apiKey = requiredCredential(CLIENT, "apiKey", options.apiKey, env);
    this.project = requiredSetting(CLIENT, "project", options.project, env);
    this.#fetch = options.fetch;
  }

  /** A client configured from KEYGATE_* variables alone (`env`: a Worker's env, or process.env by default); `options` still win. */
  static fromEnv(env: Environment = processEnvironment(), options: Omit<DataClientOptions, "env"> = {}): DataClient {
    return new DataClient({ ...options, env });
  }

  /** The deployment's OpenAI base URL: `…/endpoint/{project}/{deployment}/v1`. */
  openaiBaseUrl(deployment: string): string {
    return `${this.baseUrl}${fillPath("/endpoint/{project}/{deployment}/v1", { project: this.project, deployment })}`;
  }

  /**
   * The official `openai` client for one deployment, with this client's key. `openai` is an optional peer dependency:
   * install it next to keygate to use this.
   */
  async openai(deployment: string, options: Record<string, unknown> = {}): Promise<import("openai").OpenAI> {
    let OpenAI: typeof import("openai").OpenAI;
    try {
      ({ OpenAI } = await import("openai"));
    } catch (cause) {
      throw new Error("DataClient.openai() needs the `openai` package: npm install openai", { cause });
    }
    return new OpenAI({ apiKey: this.#apiKey, baseURL: this.openaiBaseUrl(deployment), fetch: this.#fetch, ...options });
  }

  /** A request to one deployment, with this client's key: `fetch(deployment, "/v1/models")`. */
  fetch(deployment: string, path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${this.#apiKey}`);
    const url = `${this.baseUrl}${fillPath("/endpoint/{project}/{deployment}", { project: this.project, deployment })}${path.startsWith("/") ? path : `/${path}`}`;
    return (this.#fetch ?? fetch)(url, { ...init, headers });
  }
}
