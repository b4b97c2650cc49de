/**
 * ManagementClient: the management API (`/admin/v1`) with an `ik_sdk_` token or the root ADMIN_TOKEN.
 *
 *   const kg = new ManagementClient({ project: "acme" });   // token from KEYGATE_TOKEN, URL from KEYGATE_BASE_URL
 *   const { key } = await kg.keys.create({ name: "ci", scopes: ["acme/chat"] });
 *   for await (const k of kg.keys.list()) console.log(k.name, k.last_used_at);
 *
 * Each resource's calls are typed from the Worker's OpenAPI document (./openapi.ts). Calls about one project use the
 * client's `project`; `kg.withProject("other")` is the same client for another one.
 */
import type { Environment } from "./settings.ts";
import { baseUrlOf, processEnvironment, requiredCredential, requiredSetting, settingOf } from "./settings.ts";
import { List, type PageBody } from "./pages.ts";
import { type PathOf, type QueryOf, type Route, Transport } from "./transport.ts";
import { ensureApplication, ensureBudget, ensureDeployment, ensureKey, ensurePolicy } from "./ensure.ts";
import type { DesiredApplication, DesiredKey, DesiredPolicy } from "./drift.ts";
import type * as api from "./openapi.ts";

export interface ManagementClientOptions {
  /** keygate's address (else KEYGATE_BASE_URL, else http://127.0.0.1:8787). */
  baseUrl?: string;
  /** An `ik_sdk_` management token or the root ADMIN_TOKEN (else KEYGATE_TOKEN; required). */
  token?: string;
  /** The project that project-scoped calls are about (else KEYGATE_PROJECT). */
  project?: string;
  /** Where KEYGATE_* variables are read (default: process.env where there is one). */
  env?: Environment;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

type ListQuery<R extends Route> = Omit<QueryOf<R>, "cursor">;

const CLIENT = "ManagementClient";

export class ManagementClient {
  readonly #transport: Transport;
  readonly #project: string | undefined;

  constructor(options: ManagementClientOptions = {}, transport?: Transport) {
    const env = options.env ?? processEnvironment();
    this.#project = settingOf("project", options.project, env);
    this.#transport =
      transport ??
      new Transport({
        baseUrl: baseUrlOf(CLIENT, options.baseUrl, env),
        token: requiredCredential(CLIENT, "token", options.token, env),
        fetch: options.fetch,
        timeoutMs: options.timeoutMs,
        userAgent: "keygate-sdk",
      });
  }

  /** A client configured from KEYGATE_* variables alone (`env`: a Worker's env, or process.env by default); `options` still win. */
  static fromEnv(env: Environment = processEnvironment(), options: Omit<ManagementClientOptions, "env"> = {}): ManagementClient {
    return new ManagementClient({ ...options, env });
  }

  /** This client, for another project (same address and token). */
  withProject(project: string): ManagementClient {
    return new ManagementClient({ project, env: {} }, this.#transport);
  }

  get baseUrl(): string {
    return this.#transport.baseUrl;
  }

  /** The project's slug that project-scoped calls use; a clear error when there is none. */
  get project(): string {
    return requiredSetting(CLIENT, "project", this.#project, {});
  }

  /** The project-scoped path parameters with this client's project. */
  #in<T extends object>(rest: T): T & { project: string } {
    return { ...rest, project: this.project };
  }

  #list<R extends Route, T>(route: R, path: PathOf<R>, query: ListQuery<R> | undefined): List<T> {
    return new List<T>(
      (cursor) => this.#transport.call(route, path, { query: { ...query, cursor } as QueryOf<R> }) as Promise<PageBody<T>>,
    );
  }

  readonly projects = {
    list: (query?: ListQuery<"GET /projects">) => this.#list<"GET /projects", api.Project>("GET /projects", {}, query),
    get: (slug = this.project) => this.#transport.call("GET /projects/{project}", { project: slug }),
    /** Needs the root ADMIN_TOKEN (or an Access identity): a management token belongs to one project. */
    create: (body: api.CreateProject) => this.#transport.call("POST /projects", {}, { body }),
    update: (body: api.UpdateProject, slug = this.project) => this.#transport.call("PATCH /projects/{project}", { project: slug }, { body }),
    /** Deletes the project with its deployments, keys, tokens, applications, policies and budgets. */
    delete: (slug = this.project) => this.#transport.call("DELETE /projects/{project}", { project: slug }),
  };

  readonly deployments = {
    list: (query?: ListQuery<"GET /projects/{project}/deployments">) =>
      this.#list<"GET /projects/{project}/deployments", api.Deployment>("GET /projects/{project}/deployments", this.#in({}), query),
    get: (deployment: string) => this.#transport.call("GET /projects/{project}/deployments/{deployment}", this.#in({ deployment })),
    create: (body: api.CreateDeployment) => this.#transport.call("POST /projects/{project}/deployments", this.#in({}), { body }),
    update: (deployment: string, body: api.UpdateDeployment) =>
      this.#transport.call("PATCH /projects/{project}/deployments/{deployment}", this.#in({ deployment }), { body }),
    delete: (deployment: string) => this.#transport.call("DELETE /projects/{project}/deployments/{deployment}", this.#in({ deployment })),
    /** Creates the deployment (by slug) if missing, patches what drifted, leaves it alone when it matches. */
    ensure: (desired: api.CreateDeployment) => ensureDeployment(this, desired),
    /** The keys whose scopes cover the deployment (its "API keys" tab). */
    keys: (deployment: string, query?: ListQuery<"GET /projects/{project}/deployments/{deployment}/keys">) =>
      this.#list<"GET /projects/{project}/deployments/{deployment}/keys", api.ApiKey>(
        "GET /projects/{project}/deployments/{deployment}/keys",
        this.#in({ deployment }),
        query,
      ),
    /** Adds the deployment to a standalone key's scopes. */
    link: (deployment: string, keyId: string) =>
      this.#transport.call("PUT /projects/{project}/deployments/{deployment}/keys/{key_id}", this.#in({ deployment, key_id: keyId })),
    /** Removes the deployment from a key's scopes (409 when the key covers it through `{project}/*`). */
    unlink: (deployment: string, keyId: string) =>
      this.#transport.call("DELETE /projects/{project}/deployments/{deployment}/keys/{key_id}", this.#in({ deployment, key_id: keyId })),
  };

  readonly keys = {
    list: (query?: ListQuery<"GET /projects/{project}/keys">) =>
      this.#list<"GET /projects/{project}/keys", api.ApiKey>("GET /projects/{project}/keys", this.#in({}), query),
    get: (keyId: string) => this.#transport.call("GET /projects/{project}/keys/{key_id}", this.#in({ key_id: keyId })),
    /** The answer's `key` is the secret, shown this once. */
    create: (body: api.CreateApiKey) => this.#transport.call("POST /projects/{project}/keys", this.#in({}), { body }),
    update: (keyId: string, body: api.UpdateApiKey) =>
      this.#transport.call("PATCH /projects/{project}/keys/{key_id}", this.#in({ key_id: keyId }), { body }),
    /** Revokes the key: the next request with it gets 401. */
    revoke: (keyId: string) => this.#transport.call("DELETE /projects/{project}/keys/{key_id}", this.#in({ key_id: keyId })),
    /** A new secret (in the answer's `key`); the old one works for `grace_seconds` more (default 0). */
    roll: (keyId: string, body: api.RollApiKey = {}) =>
      this.#transport.call("POST /projects/{project}/keys/{key_id}/roll", this.#in({ key_id: keyId }), { body }),
    /** By name among the project's unrevoked keys; `secret` is set only when this call created the key. */
    ensure: (desired: DesiredKey) => ensureKey(this, desired),
  };

  readonly tokens = {
    list: (query?: ListQuery<"GET /projects/{project}/tokens">) =>
      this.#list<"GET /projects/{project}/tokens", api.ManagementToken>("GET /projects/{project}/tokens", this.#in({}), query),
    /** The answer's `token` is the secret, shown this once. */
    create: (body: api.CreateManagementToken) => this.#transport.call("POST /projects/{project}/tokens", this.#in({}), { body }),
    revoke: (tokenId: string) => this.#transport.call("DELETE /projects/{project}/tokens/{token_id}", this.#in({ token_id: tokenId })),
  };

  readonly applications = {
    list: (query?: ListQuery<"GET /projects/{project}/applications">) =>
      this.#list<"GET /projects/{project}/applications", api.Application>("GET /projects/{project}/applications", this.#in({}), query),
    get: (applicationId: string) =>
      this.#transport.call("GET /projects/{project}/applications/{application_id}", this.#in({ application_id: applicationId })),
    create: (body: api.CreateApplication) => this.#transport.call("POST /projects/{project}/applications", this.#in({}), { body }),
    update: (applicationId: string, body: api.UpdateApplication) =>
      this.#transport.call("PATCH /projects/{project}/applications/{application_id}", this.#in({ application_id: applicationId }), { body }),
    /** Deletes the application, its policies and budgets, and revokes its keys. */
    delete: (applicationId: string) =>
      this.#transport.call("DELETE /projects/{project}/applications/{application_id}", this.#in({ application_id: applicationId })),
    /** By name (unique in the project). */
    ensure: (desired: DesiredApplication) => ensureApplication(this, desired),
  };

  readonly policies = {
    list: (query?: ListQuery<"GET /projects/{project}/policies">) =>
      this.#list<"GET /projects/{project}/policies", api.Policy>("GET /projects/{project}/policies", this.#in({}), query),
    get: (policyId: string) => this.#transport.call("GET /projects/{project}/policies/{policy_id}", this.#in({ policy_id: policyId })),
    create: (body: api.CreatePolicy) => this.#transport.call("POST /projects/{project}/policies", this.#in({}), { body }),
    update: (policyId: string, body: api.UpdatePolicy) =>
      this.#transport.call("PATCH /projects/{project}/policies/{policy_id}", this.#in({ policy_id: policyId }), { body }),
    delete: (policyId: string) => this.#transport.call("DELETE /projects/{project}/policies/{policy_id}", this.#in({ policy_id: policyId })),
    /** By name (unique in the project); `rules` compared in order (sdk/drift.ts). */
    ensure: (desired: DesiredPolicy) => ensurePolicy(this, desired),
  };

  readonly budgets = {
    list: (query?: ListQuery<"GET /projects/{project}/budgets">) =>
      this.#list<"GET /projects/{project}/budgets", api.Budget>("GET /projects/{project}/budgets", this.#in({}), query),
    get: (budgetId: string) => this.#transport.call("GET /projects/{project}/budgets/{budget_id}", this.#in({ budget_id: budgetId })),
    create: (body: api.CreateBudget) => this.#transport.call("POST /projects/{project}/budgets", this.#in({}), { body }),
    update: (budgetId: string, body: api.UpdateBudget) =>
      this.#transport.call("PATCH /projects/{project}/budgets/{budget_id}", this.#in({ budget_id: budgetId }), { body }),
    delete: (budgetId: string) => this.#transport.call("DELETE /projects/{project}/budgets/{budget_id}", this.#in({ budget_id: budgetId })),
    /** By subject and period. */
    ensure: (desired: api.CreateBudget) => ensureBudget(this, desired),
  };

  /** Usage per UTC day, key and deployment (`from`/`to` are UTC days, YYYY-MM-DD). */
  usage(query?: ListQuery<"GET /projects/{project}/usage">): List<api.UsageRecord> {
    return this.#list<"GET /projects/{project}/usage", api.UsageRecord>("GET /projects/{project}/usage", this.#in({}), query);
  }

  /** The project's audit log, newest first. */
  audit(query?: ListQuery<"GET /projects/{project}/audit">): List<api.AuditEvent> {
    return this.#list<"GET /projects/{project}/audit", api.AuditEvent>("GET /projects/{project}/audit", this.#in({}), query);
  }

  /** Why the data plane would allow or deny this key on this deployment, now (no side effects). */
  explain(body: api.ExplainRequest): Promise<api.Decision> {
    return this.#transport.call("POST /projects/{project}/explain", this.#in({}), { body });
  }
}
