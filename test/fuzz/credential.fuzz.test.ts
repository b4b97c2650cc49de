/**
 * Property: no header value other than a well-formed API key ever yields a secret — whatever the scheme's case,
 * spacing, prefix, length, alphabet or checksum — and a secret that comes out is exactly what was sent.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readDataPlaneCredential } from "../../src/authz/credential";
import { generateSecret, isWellFormed } from "../../src/secrets/format";

const RUNS = 3000;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Header-safe text: what Fetch lets a client send as a value (no CR, LF or NUL; trimmed by Headers). */
const headerText = fc.string({ unit: "binary", maxLength: 80 }).map((s) => s.replace(/[\r\n\0]/g, ""));

/** A real key, then mutated: a character changed, added, dropped, or the prefix altered. */
const nearKey = fc
  .tuple(fc.constantFrom("api_key", "management_token"), fc.nat(60), fc.constantFrom(...BASE62, "_", "-", " ", "é"), fc.nat(4))
  .map(([kind, at, ch, how]) => {
    const secret = generateSecret(kind as "api_key" | "management_token");
    const i = at % secret.length;
    if (how === 0) return secret.slice(0, i) + ch + secret.slice(i + 1);
    if (how === 1) return secret.slice(0, i) + ch + secret.slice(i);
    if (how === 2) return secret.slice(0, i) + secret.slice(i + 1);
    if (how === 3) return secret.toUpperCase();
    return secret;
  });

const value = fc.oneof(headerText, nearKey, nearKey.map((k) => `ik_live_${k.slice(8)}`));
const scheme = fc.constantFrom("Bearer ", "bearer ", "BEARER  ", "Basic ", "Bearer", "", "Token ");

describe("credential parsing never yields a secret that is not a well-formed API key", () => {
  it("for any Authorization and X-API-Key values", () => {
    fc.assert(
      fc.property(fc.option(fc.tuple(scheme, value)), fc.option(value), (authorization, apiKey) => {
        const init: Record<string, string> = {};
        if (authorization) init.authorization = authorization[0] + authorization[1];
        if (apiKey !== null) init["x-api-key"] = apiKey;
        let headers: Headers;
        try {
          headers = new Headers(init);
        } catch {
          return; // a value Fetch itself refuses never reaches keygate
        }
        const result = readDataPlaneCredential(headers);
        if (result.kind !== "secret") return;
        expect(isWellFormed(result.secret, "api_key")).toBe(true);
        const sent = [headers.get("x-api-key"), headers.get("authorization")?.replace(/^bearer /i, "")];
        expect(sent).toContain(result.secret);
        expect(result.secret.startsWith("ik_live_")).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("a well-formed key survives any scheme case and is the only thing that does", () => {
    fc.assert(
      fc.property(nearKey, fc.constantFrom("Bearer", "bearer", "BEARER", "bEaReR"), (candidate, word) => {
        const result = readDataPlaneCredential(new Headers({ authorization: `${word} ${candidate}` }));
        expect(result.kind === "secret").toBe(isWellFormed(candidate, "api_key"));
      }),
      { numRuns: RUNS },
    );
  });
});
