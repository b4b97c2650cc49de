/**
 * Properties of path normalisation, for encoded, dotted, doubled, backslashed, `;` and unicode inputs:
 *   - it is idempotent;
 *   - when the check passes, an origin that decodes the path its own way (percent-decoding once, `\` as `/`,
 *     resolving dot segments) still lands inside the allowed paths.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_ALLOWED_PATHS, isPathAllowed, normalizeRestPath } from "../../src/authz/paths";

const RUNS = 4000;

const segment = fc.constantFrom(
  "v1", "models", "chat", "completions", "embeddings", "load_lora_adapter", "admin", "x",
  ".", "..", "%2e", "%2E", "%2e%2e", ".%2e", "%2e.", "%252e%252e",
  "", "%2f", "%2F", "%5c", "\\", "..\\..", "%00", "%1f", ";", "..;", "%3b", "%3B",
  "é", "%c3%a9", "ａｄｍｉｎ", "%ef%bc%8e%ef%bc%8e", "%", "%zz", "a%2fb", "%7f",
);
const rawPath = fc.array(segment, { maxLength: 10 }).map((parts) => "/" + parts.join("/"));

/**
 * How a lenient origin might read the path: decode once, `\` is `/`, drop `;` parameters (Java servers), resolve
 * dot segments, forgive climbing above the root.
 */
function originReading(path: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = path;
  }
  const out: string[] = [];
  for (const raw of decoded.replaceAll("\\", "/").split("/")) {
    const part = raw.split(";")[0]!;
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

describe("path normalisation", () => {
  it("is idempotent", () => {
    fc.assert(
      fc.property(rawPath, (raw) => {
        const once = normalizeRestPath(raw);
        if (once !== null) expect(normalizeRestPath(once)).toBe(once);
      }),
      { numRuns: RUNS },
    );
  });

  it("never lets an allowed path reach a disallowed one at the origin", () => {
    fc.assert(
      fc.property(rawPath, (raw) => {
        const path = normalizeRestPath(raw);
        if (path === null || !isPathAllowed(path, DEFAULT_ALLOWED_PATHS)) return;
        expect(path).not.toMatch(/;|%3b|%2f|%5c|\\|%2e|\/\.\.?(\/|$)|\/\//i);
        expect(isPathAllowed(originReading(path), DEFAULT_ALLOWED_PATHS), `${raw} → ${path}`).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
