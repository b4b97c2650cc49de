/**
 * A key's stored `conditions`, compiled into sets and byte blocks when a record is loaded, so a request only
 * evaluates them (authorize.ts). Their shape, validation and canonical form are defined once, in
 * conditions-schema.ts, which only the admin plane loads.
 */
import { toMillis } from "../time";
import { compileCidr } from "./cidr";
import type { CompiledConditions, Conditions } from "./types";

/**
 * Stored conditions → what the hot path evaluates. Throws on a corrupt stored CIDR (see compileCidr) or time
 * (toMillis): a block or window that silently matched nothing would fail open.
 */
export function compileConditions(c: Conditions): CompiledConditions {
  return {
    ipAllow: c.ip_allow ? c.ip_allow.map(compileCidr) : null,
    ipDeny: c.ip_deny ? c.ip_deny.map(compileCidr) : null,
    countries: c.countries ? new Set(c.countries) : null,
    asns: c.asns ? new Set(c.asns) : null,
    userAgents: c.user_agents ? [...c.user_agents] : null,
    notBefore: toMillis(c.not_before ?? null),
    notAfter: toMillis(c.not_after ?? null),
    endpoints: c.endpoints ? new Set(c.endpoints) : null,
  };
}
