/**
 * A key's stored `conditions`, compiled into sets and byte blocks when a record is loaded, so a request only
 * evaluates them (authorize.ts). Their shape, validation and canonical form are defined once, in
 * conditions-schema.ts, which only the admin plane loads.
 */
import { compileCidr } from "./cidr";
import type { CompiledConditions, Conditions } from "./types";

/** Stored conditions → what the hot path evaluates. Throws on a corrupt stored CIDR (see compileCidr). */
export function compileConditions(c: Conditions): CompiledConditions {
  return {
    ipAllow: c.ip_allow ? c.ip_allow.map(compileCidr) : null,
    ipDeny: c.ip_deny ? c.ip_deny.map(compileCidr) : null,
    countries: c.countries ? new Set(c.countries) : null,
    asns: c.asns ? new Set(c.asns) : null,
    userAgents: c.user_agents ? [...c.user_agents] : null,
    notBefore: c.not_before === undefined ? null : storedInstant(c.not_before),
    notAfter: c.not_after === undefined ? null : storedInstant(c.not_after),
  };
}

/** NaN would compare false both ways and let every request through the window: a corrupt row must throw. */
function storedInstant(iso: string): number {
  const millis = Date.parse(iso);
  if (Number.isNaN(millis)) throw new Error("stored condition time is not a date");
  return millis;
}
