import { describe, expect, it } from "vitest";
import { DEFAULT_ALLOWED_PATHS, isPathAllowed, normalizeRestPath, validateAllowedPath } from "../../src/authz/paths";

describe("normalizeRestPath", () => {
  it.each([
    ["", "/"],
    ["/", "/"],
    ["/v1/chat/completions", "/v1/chat/completions"],
    ["/v1/../v1/models", "/v1/models"],
    ["/v1/./models", "/v1/models"],
    ["/v1/%2e%2e/admin", "/admin"],
    ["/v1/%2E%2e/admin", "/admin"],
    ["/v1/.%2e/admin", "/admin"],
    ["/v1/%2e/models", "/v1/models"],
    ["/v1%2Fchat%2Fcompletions", "/v1/chat/completions"],
    ["/v1%2fchat%2fcompletions", "/v1/chat/completions"],
    ["/v1/models%2F..%2F..%2Fload_lora_adapter", "/load_lora_adapter"],
    ["/v1%5Cmodels", "/v1/models"],
    ["/v1\\models", "/v1/models"],
    ["//v1///models", "/v1/models"],
    ["/v1/models/", "/v1/models/"],
    ["/v1/models/.", "/v1/models/"],
    ["/v1/models/..", "/v1/"],
    ["/v1/..", "/"],
    // Not dot-segments: kept as they are.
    ["/v1/models/...", "/v1/models/..."],
    ["/v1/models/..foo", "/v1/models/..foo"],
    // Other percent-encodings are forwarded as sent, including a double-encoded dot.
    ["/v1/models/llama%203", "/v1/models/llama%203"],
    ["/v1/models/a%252e%252e", "/v1/models/a%252e%252e"],
    ["/v1/models/org%3Aname", "/v1/models/org%3Aname"],
  ])("%j → %j", (raw, expected) => {
    expect(normalizeRestPath(raw)).toBe(expected);
  });

  it.each([
    ["/..", "climbs above the root"],
    ["/../v1/models", "climbs above the root"],
    ["/v1/../../admin", "climbs above the root"],
    ["/v1/%2e%2e/%2E%2E/admin", "climbs above the root, encoded"],
    ["/v1%2F..%2F..%2Fadmin", "climbs above the root through encoded slashes"],
    ["/v1/models%00", "encoded NUL"],
    ["/v1/models/%0a", "encoded line feed"],
    ["/v1/models/%1F", "encoded control character"],
    ["/v1/models/%7f", "encoded DEL"],
    ["/v1/models/\u0000", "raw NUL"],
    ["/v1/models/\n", "raw line feed"],
    ["/v1/models/%zz", "malformed escape"],
    ["/v1/models/%4", "truncated escape"],
    ["v1/models", "not starting with a slash"],
  ])("%j → null (%s)", (raw) => {
    expect(normalizeRestPath(raw)).toBeNull();
  });
});

describe("isPathAllowed", () => {
  it.each([
    ["/v1/chat/completions", true],
    ["/v1/completions", true],
    ["/v1/embeddings", true],
    ["/v1/models", true],
    ["/v1/models/x", true],
    ["/v1/models/a/b", true],
    ["/v1/chat/completions/", false],
    ["/v1/chat", false],
    ["/V1/chat/completions", false],
    ["/v1/load_lora_adapter", false],
    ["/v1/unload_lora_adapter", false],
    ["/v1/modelsx", false],
    ["/", false],
  ])("default list: %j → %s", (path, expected) => {
    expect(isPathAllowed(path, DEFAULT_ALLOWED_PATHS)).toBe(expected);
  });

  it("exact entries match only themselves; '*' entries match their prefix", () => {
    expect(isPathAllowed("/api/generate", ["/api/generate"])).toBe(true);
    expect(isPathAllowed("/api/generate/x", ["/api/generate"])).toBe(false);
    expect(isPathAllowed("/api/anything", ["/api/*"])).toBe(true);
    expect(isPathAllowed("/api", ["/api/*"])).toBe(false);
    expect(isPathAllowed("/anything/at/all", ["/*"])).toBe(true);
    expect(isPathAllowed("/v1/models", [])).toBe(false);
  });

  it("the default list never includes an admin route", () => {
    for (const entry of DEFAULT_ALLOWED_PATHS) expect(validateAllowedPath(entry)).toBeNull();
    expect(DEFAULT_ALLOWED_PATHS.some((entry) => entry === "/*" || entry === "/v1/*")).toBe(false);
  });
});

describe("validateAllowedPath", () => {
  const valid = ["/v1/chat/completions", "/v1/models/*", "/*", "/api/generate", "/v1/models/llama%203"];
  it.each(valid)("%j is valid", (entry) => {
    expect(validateAllowedPath(entry)).toBeNull();
  });

  it.each([
    ["v1/models", "start"],
    ["", "start"],
    ["*", "start"],
    ["/v1/ models", "whitespace"],
    ["/v1/models\t", "whitespace"],
    ["/v1/*/models", "last character"],
    ["/v1/**", "last character"],
    ["/v1/../admin", "normalised"],
    ["//v1/models", "normalised"],
    ["/v1%2Fmodels", "normalised"],
    ["/v1/%00", "normalised"],
    [`/${"a".repeat(256)}`, "256"],
  ])("%j is rejected (%s)", (entry, fragment) => {
    expect(validateAllowedPath(entry)).toContain(fragment);
  });
});
