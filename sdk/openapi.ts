// Generated from the Worker's /admin/v1/openapi.json by sdk/codegen/openapi-types.ts: do not edit by hand.
// `npm run sdk:types` writes it again; e2e/sdk-types.test.ts fails while it differs from the Worker's document.
/* eslint-disable */

export interface Project {
  id: string;
  object: "project";
  slug: string;
  name: string;
  /** The kill switch: every data-plane request to the project's deployments is refused (403 project_suspended). */
  suspended: boolean;
  created_at: string;
}

export interface Error {
  error: {
    message: string;
    type: string;
    code: "invalid_request" | "missing_api_key" | "invalid_api_key" | "expired_api_key" | "wrong_credential_type" | "project_scope_mismatch" | "scope_insufficient" | "ip_not_allowed" | "condition_not_met" | "client_certificate_required" | "project_suspended" | "csrf_check_failed" | "not_found" | "method_not_allowed" | "request_timeout" | "conflict" | "request_too_large" | "rate_limited" | "insufficient_quota" | "internal_error" | "origin_unreachable" | "store_unavailable" | "origin_timeout";
    param: string | null;
  };
}

export interface CreateProject {
  slug: string;
  name?: string;
}

export interface ProjectList {
  object: "list";
  data: Project[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface UpdateProject {
  name?: string;
  suspended?: boolean;
}

export interface Deployment {
  id: string;
  object: "deployment";
  project: string;
  slug: string;
  name: string;
  origin: {
    url: string;
    /** Values are write-only and never shown. */
    header_names: string[];
    /** Every forwarded request carries a signed Keygate-Assertion JWT. */
    assertion: boolean;
  };
  model: string | null;
  allowed_paths: string[];
  /** The public endpoint's API-key auth toggle (endpoints.public.auth_enabled). */
  auth_enabled: boolean;
  endpoints: {
    public: {
      enabled: boolean;
      auth_enabled: boolean;
    };
    private: {
      enabled: boolean;
      auth_enabled: boolean;
      /** SHA-256 fingerprints PRIVATE_HOSTNAME accepts for this deployment; null: any certificate the edge verified. */
      client_cert_fingerprints: string[] | null;
    };
  };
  /** Streamed chat and completions ask the origin for stream_options.include_usage (removed again from what the client gets), so their tokens are counted exactly. */
  inject_stream_usage: boolean;
  /** What a hard budget reserves for the output of a request that names no max_tokens; null: keygate's default (4096). */
  default_max_tokens: number | null;
  /** The base URL clients call (the host form when ENDPOINT_HOST_SUFFIX is set); an OpenAI client's base_url is url + '/v1'. */
  url: string;
  created_at: string;
  updated_at: string;
}

export interface CreateDeployment {
  slug: string;
  name?: string;
  origin: {
    url: string;
    headers?: {
      [name: string]: string;
    };
    assertion?: boolean;
  };
  model?: string | null;
  allowed_paths?: string[];
  auth_enabled?: boolean;
  endpoints?: {
    public?: {
      enabled?: boolean;
      auth_enabled?: boolean;
    };
    private?: {
      enabled?: boolean;
      auth_enabled?: boolean;
      client_cert_fingerprints?: string[] | null;
    };
  };
  inject_stream_usage?: boolean;
  default_max_tokens?: number | null;
}

export interface DeploymentList {
  object: "list";
  data: Deployment[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface UpdateDeployment {
  name?: string;
  origin?: {
    url?: string;
    headers?: {
      [name: string]: string;
    };
    assertion?: boolean;
  };
  model?: string | null;
  allowed_paths?: string[];
  auth_enabled?: boolean;
  endpoints?: {
    public?: {
      enabled?: boolean;
      auth_enabled?: boolean;
    };
    private?: {
      enabled?: boolean;
      auth_enabled?: boolean;
      client_cert_fingerprints?: string[] | null;
    };
  };
  inject_stream_usage?: boolean;
  default_max_tokens?: number | null;
}

export interface DeploymentKeyList {
  object: "list";
  data: ApiKey[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface ApiKey {
  id: string;
  object: "api_key";
  project: string;
  name: string;
  description: string | null;
  /** The first 12 characters of the secret. */
  start: string;
  /** Always [] for an application key. */
  scopes: string[];
  /** The application the key was made for; null for a standalone key. */
  application_id: string | null;
  /** A standalone key's permission set; null for an application key (its rules carry theirs). */
  permission_set: "InferenceFullAccess" | "InferenceReadOnly" | null;
  conditions: Conditions;
  expires_at: string | null;
  revoked_at: string | null;
  /** Reflects a use within 10 s (writes are coalesced). */
  last_used_at: string | null;
  /** Allowed requests, counted like last_used_at. */
  request_count: number;
  created_at: string;
  /** The audit actor that created it (null for one made before this was recorded). */
  created_by: string | null;
}

export interface Conditions {
  ip_allow?: string[] | null;
  ip_deny?: string[] | null;
  countries?: string[] | null;
  asns?: number[] | null;
  user_agents?: string[] | null;
  not_before?: string | null;
  not_after?: string | null;
  endpoints?: ("public" | "private")[] | null;
}

export type ApiKeyWithSecret = ApiKey & {
  /** The secret. Shown only in this response; store it now. */
  key: string;
};

export interface CreateApiKey {
  name: string;
  description?: string;
  expires_at?: string | null;
  /** Required for a standalone key; absent for an application key. */
  scopes?: string[];
  /** Make the key for this application: it inherits its policies. */
  application_id?: string;
  /** A standalone key's (default InferenceFullAccess). */
  permission_set?: "InferenceFullAccess" | "InferenceReadOnly";
  conditions?: Conditions | null;
}

export interface ApiKeyList {
  object: "list";
  data: ApiKey[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface UpdateApiKey {
  name?: string;
  description?: string | null;
  expires_at?: string | null;
  /** Standalone keys only. */
  scopes?: string[];
  /** Standalone keys only. */
  permission_set?: "InferenceFullAccess" | "InferenceReadOnly";
  conditions?: Conditions | null;
}

export interface RollApiKey {
  grace_seconds?: number;
}

export type ManagementTokenWithSecret = ManagementToken & {
  /** The secret. Shown only in this response; store it now. */
  token: string;
};

export interface ManagementToken {
  id: string;
  object: "management_token";
  project: string;
  name: string;
  role: "full" | "read_only";
  start: string;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
  /** The audit actor that created it (null for one made before this was recorded). */
  created_by: string | null;
}

export interface CreateManagementToken {
  name: string;
  role: "full" | "read_only";
  expires_at?: string | null;
}

export interface ManagementTokenList {
  object: "list";
  data: ManagementToken[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface Application {
  id: string;
  object: "application";
  project: string;
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export interface CreateApplication {
  name: string;
  description?: string;
}

export interface ApplicationList {
  object: "list";
  data: Application[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface UpdateApplication {
  name?: string;
  description?: string | null;
}

export interface Policy {
  id: string;
  object: "policy";
  project: string;
  application_id: string;
  name: string;
  description: string | null;
  rules: PolicyRule[];
  created_at: string;
  updated_at: string;
}

export interface PolicyRule {
  permission_set: "InferenceFullAccess" | "InferenceReadOnly";
  /** Deployment slugs, or ["*"] for every deployment of the project. */
  deployments: string[];
  conditions: Conditions;
}

export interface CreatePolicy {
  name: string;
  description?: string;
  application_id: string;
  rules: PolicyRuleInput[];
}

export interface PolicyRuleInput {
  permission_set: "InferenceFullAccess" | "InferenceReadOnly";
  deployments: ("*" | string)[];
  conditions?: Conditions | null;
}

export interface PolicyList {
  object: "list";
  data: Policy[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface UpdatePolicy {
  name?: string;
  description?: string | null;
  rules?: PolicyRuleInput[];
}

export interface Budget {
  id: string;
  object: "budget";
  project: string;
  subject: {
    type: "key" | "application" | "project";
    id: string;
  };
  limit_tokens: number;
  period: "day" | "month" | "total";
  mode: "hard" | "soft";
  /** Tokens charged in the current period. */
  spent_tokens: number;
  /** Tokens held by hard-mode requests still in flight. */
  reserved_tokens: number;
  /** When the period ends (UTC); null for a `total` budget. */
  resets_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface CreateBudget {
  subject: {
    type: "key" | "application" | "project";
    /** The key's or application's id, or the project's slug. */
    id: string;
  };
  limit_tokens: number;
  period: "day" | "month" | "total";
  mode?: "hard" | "soft";
}

export interface BudgetList {
  object: "list";
  data: Budget[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface UpdateBudget {
  limit_tokens?: number;
  mode?: "hard" | "soft";
}

export interface UsageList {
  object: "list";
  data: UsageRecord[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface UsageRecord {
  date: string;
  /** null: requests to a deployment with auth off. */
  key_id: string | null;
  deployment: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** Tokens the origin never reported, estimated from the bytes seen. */
  estimated_tokens: number;
}

export interface Decision {
  object: "decision";
  allowed: boolean;
  /** What the data plane would answer: 200 when allowed. */
  status: number;
  /** The error code the data plane would answer; null when allowed. */
  code: string | null;
  message: string | null;
  /** The internal reason word the endpoint log line would carry. */
  reason: string | null;
  key_id: string;
  deployment: string;
  /** The deciding policy of an application key's request. */
  policy_id: string | null;
  /** The deciding rule's index in that policy, from 0. */
  rule_index: number | null;
  /** The project's revision the decision was made at. */
  revision: number | null;
}

export interface ExplainRequest {
  key_id: string;
  deployment: string;
  method?: string;
  path?: string;
  /** The endpoint the request arrives on (private: through the PrivateEndpoint service binding, or PRIVATE_HOSTNAME when client_cert_fingerprint is given). */
  endpoint?: "public" | "private";
  /** A request to PRIVATE_HOSTNAME with a verified client certificate of this fingerprint. */
  client_cert_fingerprint?: string;
  /** CF-Connecting-IP */
  client_ip?: string | null;
  country?: string | null;
  asn?: number | null;
  user_agent?: string | null;
  /** The instant to decide at (default: now). */
  at?: string;
}

export interface AuditEventList {
  object: "list";
  data: AuditEvent[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface AuditEvent {
  id: string;
  object: "audit_event";
  actor: string;
  action: string;
  target: string;
  request_id: string;
  created_at: string;
}

/** Every route of the management API: its path parameters, query, body and success response. */
export interface Operations {
  /** Create a project (root admin only) */
  "POST /projects": {
    path: {};
    query: {};
    body: CreateProject;
    response: Project;
  };
  /** List projects (a management token sees only its own) */
  "GET /projects": {
    path: {};
    query: {
      limit?: number;
      /** `next_cursor` of the previous page */
      cursor?: string;
    };
    body: never;
    response: ProjectList;
  };
  /** Get a project */
  "GET /projects/{project}": {
    path: {
      project: string;
    };
    query: {};
    body: never;
    response: Project;
  };
  /** Rename a project (the slug never changes), or suspend it (the kill switch; resuming needs the root admin) */
  "PATCH /projects/{project}": {
    path: {
      project: string;
    };
    query: {};
    body: UpdateProject;
    response: Project;
  };
  /** Delete a project with its deployments, keys, tokens, budgets and usage */
  "DELETE /projects/{project}": {
    path: {
      project: string;
    };
    query: {};
    body: never;
    response: Project;
  };
  /** Create a deployment */
  "POST /projects/{project}/deployments": {
    path: {
      project: string;
    };
    query: {};
    body: CreateDeployment;
    response: Deployment;
  };
  /** List deployments */
  "GET /projects/{project}/deployments": {
    path: {
      project: string;
    };
    query: {
      limit?: number;
      /** `next_cursor` of the previous page */
      cursor?: string;
    };
    body: never;
    response: DeploymentList;
  };
  /** Get a deployment */
  "GET /projects/{project}/deployments/{deployment}": {
    path: {
      project: string;
      deployment: string;
    };
    query: {};
    body: never;
    response: Deployment;
  };
  /** Update a deployment (the slug never changes; origin.headers must be resent when origin.url changes) */
  "PATCH /projects/{project}/deployments/{deployment}": {
    path: {
      project: string;
      deployment: string;
    };
    query: {};
    body: UpdateDeployment;
    response: Deployment;
  };
  /** Delete a deployment; it leaves every key's scopes and every policy rule */
  "DELETE /projects/{project}/deployments/{deployment}": {
    path: {
      project: string;
      deployment: string;
    };
    query: {};
    body: never;
    response: Deployment;
  };
  /** List the keys whose scopes cover this deployment */
  "GET /projects/{project}/deployments/{deployment}/keys": {
    path: {
      project: string;
      deployment: string;
    };
    query: {
      limit?: number;
      /** `next_cursor` of the previous page */
      cursor?: string;
    };
    body: never;
    response: DeploymentKeyList;
  };
  /** Link a key to this deployment (adds the deployment to the key's scopes; 409 for an application key) */
  "PUT /projects/{project}/deployments/{deployment}/keys/{key_id}": {
    path: {
      project: string;
      deployment: string;
      key_id: string;
    };
    query: {};
    body: never;
    response: ApiKey;
  };
  /** Unlink a key from this deployment (removes it from the key's scopes) */
  "DELETE /projects/{project}/deployments/{deployment}/keys/{key_id}": {
    path: {
      project: string;
      deployment: string;
      key_id: string;
    };
    query: {};
    body: never;
    response: ApiKey;
  };
  /** Create an API key (the secret `key` is in this response only) */
  "POST /projects/{project}/keys": {
    path: {
      project: string;
    };
    query: {};
    body: CreateApiKey;
    response: ApiKeyWithSecret;
  };
  /** List API keys (`created_by` finds what one token made; `application_id` an application's keys) */
  "GET /projects/{project}/keys": {
    path: {
      project: string;
    };
    query: {
      limit?: number;
      /** `next_cursor` of the previous page */
      cursor?: string;
      /** Only what this audit actor created, e.g. `token:tok_…` */
      created_by?: string;
      /** Only the keys made for this application */
      application_id?: string;
    };
    body: never;
    response: ApiKeyList;
  };
  /** Get an API key */
  "GET /projects/{project}/keys/{key_id}": {
    path: {
      project: string;
      key_id: string;
    };
    query: {};
    body: never;
    response: ApiKey;
  };
  /** Update an API key (scopes and conditions are replaced as a whole) */
  "PATCH /projects/{project}/keys/{key_id}": {
    path: {
      project: string;
      key_id: string;
    };
    query: {};
    body: UpdateApiKey;
    response: ApiKey;
  };
  /** Revoke an API key (the next request with it gets 401) */
  "DELETE /projects/{project}/keys/{key_id}": {
    path: {
      project: string;
      key_id: string;
    };
    query: {};
    body: never;
    response: ApiKey;
  };
  /** Roll an API key: a new secret now, the old one working for grace_seconds more (never past expiry) */
  "POST /projects/{project}/keys/{key_id}/roll": {
    path: {
      project: string;
      key_id: string;
    };
    query: {};
    body: RollApiKey;
    response: ApiKeyWithSecret;
  };
  /** Create a management token (the secret `token` is in this response only) */
  "POST /projects/{project}/tokens": {
    path: {
      project: string;
    };
    query: {};
    body: CreateManagementToken;
    response: ManagementTokenWithSecret;
  };
  /** List management tokens (`created_by` finds what one token made) */
  "GET /projects/{project}/tokens": {
    path: {
      project: string;
    };
    query: {
      limit?: number;
      /** `next_cursor` of the previous page */
      cursor?: string;
      /** Only what this audit actor created, e.g. `token:tok_…` */
      created_by?: string;
    };
    body: never;
    response: ManagementTokenList;
  };
  /** Revoke a management token, and every token it created (transitively) */
  "DELETE /projects/{project}/tokens/{token_id}": {
    path: {
      project: string;
      token_id: string;
    };
    query: {};
    body: never;
    response: ManagementToken;
  };
  /** Create an application */
  "POST /projects/{project}/applications": {
    path: {
      project: string;
    };
    query: {};
    body: CreateApplication;
    response: Application;
  };
  /** List applications */
  "GET /projects/{project}/applications": {
    path: {
      project: string;
    };
    query: {
      limit?: number;
      /** `next_cursor` of the previous page */
      cursor?: string;
    };
    body: never;
    response: ApplicationList;
  };
  /** Get an application */
  "GET /projects/{project}/applications/{application_id}": {
    path: {
      project: string;
      application_id: string;
    };
    query: {};
    body: never;
    response: Application;
  };
  /** Update an application */
  "PATCH /projects/{project}/applications/{application_id}": {
    path: {
      project: string;
      application_id: string;
    };
    query: {};
    body: UpdateApplication;
    response: Application;
  };
  /** Delete an application: its policies and budgets are deleted and its keys revoked, from the next request on */
  "DELETE /projects/{project}/applications/{application_id}": {
    path: {
      project: string;
      application_id: string;
    };
    query: {};
    body: never;
    response: Application;
  };
  /** Create a policy for an application */
  "POST /projects/{project}/policies": {
    path: {
      project: string;
    };
    query: {};
    body: CreatePolicy;
    response: Policy;
  };
  /** List policies (`application_id` keeps one application's) */
  "GET /projects/{project}/policies": {
    path: {
      project: string;
    };
    query: {
      limit?: number;
      /** `next_cursor` of the previous page */
      cursor?: string;
      /** Only this application's policies */
      application_id?: string;
    };
    body: never;
    response: PolicyList;
  };
  /** Get a policy */
  "GET /projects/{project}/policies/{policy_id}": {
    path: {
      project: string;
      policy_id: string;
    };
    query: {};
    body: never;
    response: Policy;
  };
  /** Update a policy (`rules` are replaced whole); every key of its application sees it on the next request */
  "PATCH /projects/{project}/policies/{policy_id}": {
    path: {
      project: string;
      policy_id: string;
    };
    query: {};
    body: UpdatePolicy;
    response: Policy;
  };
  /** Delete a policy; what it granted ends with the next request */
  "DELETE /projects/{project}/policies/{policy_id}": {
    path: {
      project: string;
      policy_id: string;
    };
    query: {};
    body: never;
    response: Policy;
  };
  /** Create a token budget on a key, an application or the project */
  "POST /projects/{project}/budgets": {
    path: {
      project: string;
    };
    query: {};
    body: CreateBudget;
    response: Budget;
  };
  /** List budgets */
  "GET /projects/{project}/budgets": {
    path: {
      project: string;
    };
    query: {
      limit?: number;
      /** `next_cursor` of the previous page */
      cursor?: string;
    };
    body: never;
    response: BudgetList;
  };
  /** Get a budget, with what it has spent and reserved */
  "GET /projects/{project}/budgets/{budget_id}": {
    path: {
      project: string;
      budget_id: string;
    };
    query: {};
    body: never;
    response: Budget;
  };
  /** Change a budget's limit or mode: the next request sees it */
  "PATCH /projects/{project}/budgets/{budget_id}": {
    path: {
      project: string;
      budget_id: string;
    };
    query: {};
    body: UpdateBudget;
    response: Budget;
  };
  /** Delete a budget: the next request is no longer counted against it */
  "DELETE /projects/{project}/budgets/{budget_id}": {
    path: {
      project: string;
      budget_id: string;
    };
    query: {};
    body: never;
    response: Budget;
  };
  /** Requests and tokens per UTC day, key and deployment */
  "GET /projects/{project}/usage": {
    path: {
      project: string;
    };
    query: {
      /** First UTC day, inclusive (default: 29 days before `to`). */
      from?: string;
      /** Last UTC day, inclusive (default: today). */
      to?: string;
      key_id?: string;
      deployment?: string;
      limit?: number;
      /** `next_cursor` of the previous page */
      cursor?: string;
    };
    body: never;
    response: UsageList;
  };
  /** Why a request would be allowed or denied (no side effects; read-only tokens may call it) */
  "POST /projects/{project}/explain": {
    path: {
      project: string;
    };
    query: {};
    body: ExplainRequest;
    response: Decision;
  };
  /** List the project's audit events, newest first */
  "GET /projects/{project}/audit": {
    path: {
      project: string;
    };
    query: {
      limit?: number;
      /** `next_cursor` of the previous page */
      cursor?: string;
    };
    body: never;
    response: AuditEventList;
  };
}
