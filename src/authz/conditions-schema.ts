/**
 * The one definition of a key's `conditions` (docs/api.md, "Conditions"): shape, validation and canonical form,
 * as a zod schema. The admin API validates request bodies with it and documents it in OpenAPI; the stored JSON is
 * its output; `Conditions` (authz/types.ts) is its output type. Only the admin plane loads this file, so a
 * data-plane cold start builds no schema (the hot path only compiles stored JSON: conditions.ts).
 *
 * Choices where the contract is silent:
 * - `null` for the whole object, or for one field, means "absent" (JSON clients and Terraform send nulls).
 * - An empty allow-list (`ip_allow`, `countries`, `asns`, `user_agents`) is rejected: it would silently deny every
 *   request, which is never what `[]` was meant to say. Omit the field for "no restriction".
 *   An empty `ip_deny` denies nothing, exactly like an absent one, so it is accepted and stored as absent.
 * - Duplicates (after canonicalisation: `1.2.3.4` and `1.2.3.4/32` are one entry) are dropped; order is kept.
 * - Countries are checked for shape (two ASCII letters), not against the current ISO list, which changes and
 *   which Cloudflare extends (`XK`); they are stored upper-case.
 * - Instants follow src/time.ts (RFC 3339, at most year 9999) and are stored in UTC with milliseconds.
 */
import * as z from "zod";
import { Timestamp } from "../time-schema";
import { canonicalCidr } from "./cidr";
import { validateGlob } from "./glob";

export const MAX_LIST_ENTRIES = 256;
const MAX_ASN = 4294967295; // ASNs are 32-bit (RFC 6793)

/** A string item turned into its canonical `{ value }`, or an issue with the returned message ("must …"). */
function canonicalString<T>(canonical: (item: string) => { value: T } | string) {
  return z.string({ error: "must be a string" }).transform((item, ctx) => {
    const result = canonical(item);
    if (typeof result === "string") {
      ctx.addIssue({ code: "custom", message: result });
      return z.NEVER;
    }
    return result.value;
  });
}

/**
 * A list field: absent or null → undefined; `[]` → an error for an allow-list, undefined for a deny-list;
 * otherwise its items canonicalised, duplicates dropped, order kept.
 */
function list<T extends z.ZodTypeAny>(item: T, kind: "allow" | "deny") {
  return z
    .array(item, { error: "must be an array" })
    .max(MAX_LIST_ENTRIES, `must have at most ${MAX_LIST_ENTRIES} entries`)
    .refine(
      (items) => kind === "deny" || items.length > 0,
      "must not be empty (an empty list would deny every request; omit it for no restriction)",
    )
    .transform((items): z.output<T>[] | undefined => (items.length === 0 ? undefined : [...new Set(items)]))
    .nullish();
}

const Cidr = canonicalString((item) => {
  const cidr = canonicalCidr(item);
  return cidr === null ? "must be an IPv4 or IPv6 address or CIDR (e.g. 203.0.113.0/24, 2001:db8::/32)" : { value: cidr };
});
const Country = canonicalString((item) =>
  /^[A-Za-z]{2}$/.test(item) ? { value: item.toUpperCase() } : "must be an ISO 3166-1 alpha-2 code",
);
const Asn = z
  .number({ error: `must be an integer from 1 to ${MAX_ASN}` })
  .int(`must be an integer from 1 to ${MAX_ASN}`)
  .min(1, `must be an integer from 1 to ${MAX_ASN}`)
  .max(MAX_ASN, `must be an integer from 1 to ${MAX_ASN}`);
const UserAgentGlob = canonicalString((item) => validateGlob(item) ?? { value: item });
const Instant = Timestamp.nullish();
const EndpointName = z.enum(["public", "private"], { error: 'must be "public" or "private"' });

export const ConditionsSchema = z
  .strictObject(
    {
      ip_allow: list(Cidr, "allow").meta({ example: ["203.0.113.0/24", "2001:db8::/32"] }),
      ip_deny: list(Cidr, "deny"),
      countries: list(Country, "allow").meta({ example: ["DE", "FR"] }),
      asns: list(Asn, "allow").meta({ example: [13335] }),
      user_agents: list(UserAgentGlob, "allow").meta({ example: ["OpenAI/Python *"] }),
      not_before: Instant,
      not_after: Instant,
      endpoints: list(EndpointName, "allow").meta({ example: ["private"] }),
    },
    { error: "must be an object" },
  )
  .superRefine((c, ctx) => {
    if (c.not_before && c.not_after && c.not_before >= c.not_after) {
      ctx.addIssue({ code: "custom", path: ["not_after"], message: "must be later than not_before" });
    }
  })
  // Fixed key order, absent fields left out: the stored JSON reads the same however it was written.
  .transform((c) => {
    const out: {
      ip_allow?: string[];
      ip_deny?: string[];
      countries?: string[];
      asns?: number[];
      user_agents?: string[];
      not_before?: string;
      not_after?: string;
      endpoints?: ("public" | "private")[];
    } = {};
    if (c.ip_allow) out.ip_allow = c.ip_allow;
    if (c.ip_deny) out.ip_deny = c.ip_deny;
    if (c.countries) out.countries = c.countries;
    if (c.asns) out.asns = c.asns;
    if (c.user_agents) out.user_agents = c.user_agents;
    if (c.not_before) out.not_before = c.not_before;
    if (c.not_after) out.not_after = c.not_after;
    if (c.endpoints) out.endpoints = c.endpoints;
    return out;
  })
  .meta({ id: "Conditions" });

export type Conditions = z.output<typeof ConditionsSchema>;

export type ConditionsResult = { ok: true; value: Conditions } | { ok: false; param: string; message: string };

/**
 * The schema as a function, for callers outside a zod body (and for tests): `null`/absent is no condition; a
 * failure names the first offending field as `conditions.<field>[i]`.
 */
export function canonicalConditions(input: unknown): ConditionsResult {
  if (input === null || input === undefined) return { ok: true, value: {} };
  const result = ConditionsSchema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0]!;
  const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0] ?? ""] : issue.path;
  let param = "conditions";
  for (const part of path) param += typeof part === "number" ? `[${part}]` : `.${String(part).slice(0, 64)}`;
  const message =
    issue.code === "unrecognized_keys"
      ? `is not a known condition (known: ${Object.keys(ConditionsSchema.in.shape).join(", ")})`
      : issue.message;
  return { ok: false, param, message };
}
