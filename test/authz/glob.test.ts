import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_GLOB_LENGTH, globMatch, validateGlob } from "../../src/authz/glob";

describe("globMatch", () => {
  it.each([
    ["Terraform/*", "Terraform/1.9.0", true],
    ["Terraform/*", "Terraform/", true],
    ["Terraform/*", "terraform/1.9.0", false], // case-sensitive
    ["Terraform/*", "MyTerraform/1.9.0", false], // anchored at both ends
    ["*", "", true],
    ["*", "anything at all", true],
    ["**", "", true],
    ["", "", true],
    ["", "a", false],
    ["a", "", false],
    ["?", "", false],
    ["?", "a", true],
    ["?", "ab", false],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["*c", "abc", true],
    ["*c", "abcd", false],
    ["a*", "abc", true],
    ["a*c", "ac", true],
    ["a*b*c", "aXbYc", true],
    ["a*b*c", "aXcYb", false],
    ["*a*", "bab", true],
    ["*?", "", false],
    ["*?", "x", true],
    ["a*a", "aa", true],
    ["a*a", "a", false],
    ["*abc", "ababc", true], // needs the star to give back after a partial match
    ["*aab", "aaab", true],
    ["python-requests/2.*", "python-requests/2.31.0", true],
    ["python-requests/2.*", "python-requests/3.0", false],
    ["OpenAI/Python ?.*", "OpenAI/Python 1.54.0", true],
    ["[abc]", "[abc]", true], // brackets are literal
    ["[abc]", "a", false],
    [".*", "x", false], // regex syntax is literal
    ["a.c", "abc", false],
    ["\\*", "\\x", true], // no escapes: the backslash is literal, the star a star
  ])("%j matches %j: %s", (pattern, text, expected) => {
    expect(globMatch(pattern, text)).toBe(expected);
  });

  it("returns false on a pathological pattern against a long text without blowing up", () => {
    const text = "a".repeat(10_000);
    expect(globMatch("*a*a*a*a*a*a*b", text)).toBe(false);
    expect(globMatch("*a*a*a*a*a*a*a", text)).toBe(true);
    expect(globMatch("?".repeat(256), text)).toBe(false);
    expect(globMatch(`${"*a".repeat(128)}b`, text)).toBe(false);
  });

  it("agrees with an anchored regex translation on small inputs", () => {
    const alphabet = fc.constantFrom("a", "b", "*", "?");
    const toRegex = (pattern: string) =>
      new RegExp(`^${[...pattern].map((c) => (c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : c)).join("")}$`);
    const patterns = fc.string({ unit: alphabet, maxLength: 8 });
    const texts = fc.string({ unit: fc.constantFrom("a", "b"), maxLength: 12 });
    fc.assert(
      fc.property(patterns, texts, (pattern, text) => {
        expect(globMatch(pattern, text)).toBe(toRegex(pattern).test(text));
      }),
      { numRuns: 3000 },
    );
  });
});

describe("validateGlob", () => {
  it.each([
    ["Terraform/*"],
    ["*"],
    ["?"],
    ["curl/8.?.?"],
    ["Mozilla/5.0 (X11; Linux x86_64) *"],
    ["x".repeat(MAX_GLOB_LENGTH)],
  ])("accepts %j", (pattern) => {
    expect(validateGlob(pattern)).toBeNull();
  });

  it.each([
    ["", "must not be empty"],
    ["x".repeat(MAX_GLOB_LENGTH + 1), "at most 256"],
    ["tab\there", "printable ASCII"],
    ["new\nline", "printable ASCII"],
    ["caf\u00e9/*", "printable ASCII"],
    ["\u007f", "printable ASCII"],
  ])("rejects %j", (pattern, message) => {
    expect(validateGlob(pattern)).toContain(message);
  });
});
