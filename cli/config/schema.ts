/**
 * The declarative file's shape (docs/config.md), as zod schemas: strict objects, so a misspelt field is an error at its
 * line rather than a setting silently ignored. Values the API checks in depth (URLs, CIDRs, instants) are only typed
 * here; the API's own 400 names them. Secrets have no place in the file: an origin header value is `{env: NAME}`.
 */
import * as z from "zod";
import { ENV_NAME, ENV_NAME_RULE } from "../env-name.ts";

export const CONFIG_VERSION = 1;

const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a slug: lower-case letters, digits and '-' (at most 63)");
const Name = z.string().trim().min(1, "must not be empty").max(200);
const Description = z.string().max(2000).nullable();
const PermissionSet = z.enum(["InferenceFullAccess", "InferenceReadOnly"], { error: "must be InferenceFullAccess or InferenceReadOnly" });
const Instant = z.string().nullable();
const Strings = z.array(z.string()).nullable();

const Conditions = z
  .strictObject({
    ip_allow: Strings.optional(),
    ip_deny: Strings.optional(),
    countries: Strings.optional(),
    asns: z.array(z.number().int()).nullable().optional(),
    user_agents: Strings.optional(),
    not_before: Instant.optional(),
    not_after: Instant.optional(),
    endpoints: z.array(z.enum(["public", "private"])).nullable().optional(),
  })
  .nullable();

const HeaderValue = z.strictObject(
  {
    env: z
      .string({ error: "must be an environment variable's NAME" })
      .regex(ENV_NAME, `must be ${ENV_NAME_RULE}, e.g. VLLM_TOKEN`),
  },
  { error: "a header value is a secret and never goes in this file: write {env: VARIABLE} and set VARIABLE when you apply" },
);

const Deployment = z.strictObject({
  slug: Slug,
  name: Name.optional(),
  origin: z.strictObject({
    url: z.string(),
    headers: z.record(z.string(), HeaderValue).optional(),
    assertion: z.boolean().optional(),
  }),
  model: z.string().nullable().optional(),
  allowed_paths: z.array(z.string()).optional(),
  auth_enabled: z.boolean().optional(),
  endpoints: z
    .strictObject({
      public: z.strictObject({ enabled: z.boolean().optional(), auth_enabled: z.boolean().optional() }).optional(),
      private: z
        .strictObject({
          enabled: z.boolean().optional(),
          auth_enabled: z.boolean().optional(),
          client_cert_fingerprints: z.array(z.string()).nullable().optional(),
        })
        .optional(),
    })
    .optional(),
  inject_stream_usage: z.boolean().optional(),
  default_max_tokens: z.number().int().nullable().optional(),
});

const Application = z.strictObject({ name: Name, description: Description.optional() });

const Policy = z.strictObject({
  name: Name,
  application: Name,
  description: Description.optional(),
  rules: z
    .array(z.strictObject({ permission_set: PermissionSet, deployments: z.array(z.string()).min(1), conditions: Conditions.optional() }))
    .min(1, "must have at least one rule"),
});

const Key = z
  .strictObject({
    name: Name,
    description: Description.optional(),
    application: Name.optional(),
    scopes: z.array(z.string()).optional(),
    permission_set: PermissionSet.optional(),
    conditions: Conditions.optional(),
    expires_at: Instant.optional(),
  })
  .superRefine((key, ctx) => {
    if (key.application !== undefined) {
      for (const field of ["scopes", "permission_set"] as const) {
        if (key[field] !== undefined) {
          ctx.addIssue({ code: "custom", path: [field], message: `must be absent on an application key (it has its application's policies)` });
        }
      }
    } else if (key.scopes === undefined) {
      ctx.addIssue({ code: "custom", path: ["name"], message: "a standalone key needs `scopes` (or give `application`)" });
    }
  });

/** `project`, `{key: NAME}` or `{application: NAME}`. */
const Subject = z.union(
  [z.literal("project"), z.strictObject({ key: Name }), z.strictObject({ application: Name })],
  { error: "must be `project`, `{key: NAME}` or `{application: NAME}`" },
);

const Budget = z.strictObject({
  subject: Subject,
  period: z.enum(["day", "month", "total"], { error: "must be day, month or total" }),
  limit_tokens: z.number().int().min(0),
  mode: z.enum(["hard", "soft"], { error: "must be hard or soft" }).optional(),
});

/** A kind left out of a project is not managed there: apply leaves its objects alone, --prune included. */
const Project = z.strictObject({
  slug: Slug,
  name: Name.optional(),
  suspended: z.boolean().optional(),
  deployments: z.array(Deployment).optional(),
  applications: z.array(Application).optional(),
  policies: z.array(Policy).optional(),
  keys: z.array(Key).optional(),
  budgets: z.array(Budget).optional(),
});

export const ConfigSchema = z.strictObject({
  version: z.literal(CONFIG_VERSION, { error: `must be ${CONFIG_VERSION}` }),
  projects: z.array(Project),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ProjectConfig = Config["projects"][number];
export type DeploymentConfig = z.infer<typeof Deployment>;
export type KeyConfig = z.infer<typeof Key>;
export type PolicyConfig = z.infer<typeof Policy>;
export type BudgetConfig = z.infer<typeof Budget>;
export type SubjectConfig = z.infer<typeof Subject>;

/** The kinds a project entry can manage, in the order apply creates them (prune goes the other way). */
export const KINDS = ["deployments", "applications", "policies", "keys", "budgets"] as const;
export type Kind = (typeof KINDS)[number];
