/** Secret format, hashing and the constant-time comparison (src/secrets/): pure, no store. */
import { describe, expect, it } from "vitest";
import {
  API_KEY_PREFIX,
  BODY_LENGTH,
  CHECKSUM_LENGTH,
  START_LENGTH,
  TOKEN_PREFIX,
  claimedKind,
  generateSecret,
  isWellFormed,
  startOf,
} from "../../src/secrets/format";
import { constantTimeEqual, hashSecret, lookupHashes } from "../../src/secrets/hash";
import { newId } from "../../src/secrets/ids";

describe("secret format", () => {
  it("generates well-formed secrets of each kind, all different", () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateSecret("api_key")));
    expect(keys.size).toBe(200);
    for (const key of keys) {
      expect(key.startsWith(API_KEY_PREFIX)).toBe(true);
      expect(key).toHaveLength(API_KEY_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH);
      expect(isWellFormed(key, "api_key")).toBe(true);
      expect(isWellFormed(key, "management_token")).toBe(false);
      expect(claimedKind(key)).toBe("api_key");
    }
    const token = generateSecret("management_token");
    expect(token.startsWith(TOKEN_PREFIX)).toBe(true);
    expect(isWellFormed(token, "management_token")).toBe(true);
  });

  it("rejects every single-character typo by its checksum", () => {
    const key = generateSecret("api_key");
    for (let i = API_KEY_PREFIX.length; i < key.length; i++) {
      const replacement = key[i] === "a" ? "b" : "a";
      expect(isWellFormed(key.slice(0, i) + replacement + key.slice(i + 1), "api_key")).toBe(false);
    }
    expect(isWellFormed(key.slice(0, -1), "api_key")).toBe(false);
  });

  it("shows only the start", () => {
    const key = generateSecret("api_key");
    expect(startOf(key)).toBe(key.slice(0, START_LENGTH));
  });

  it("makes sortable, typed ids", () => {
    expect(newId("key", 1000)).toMatch(/^key_[0-9a-z]{26}$/);
    expect(newId("key", 1000) < newId("key", 2000)).toBe(true);
  });
});

describe("secret hashing", () => {
  it("is SHA-256 without a pepper and HMAC with one, and lookups also try the pre-pepper form", async () => {
    const secret = generateSecret("api_key");
    const plain = await hashSecret(secret, null);
    const peppered = await hashSecret(secret, "pepper");
    expect(plain.version).toBe(0);
    expect(peppered.version).toBe(1);
    expect(plain.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(peppered.hash).not.toBe(plain.hash);
    expect(await lookupHashes(secret, "pepper")).toEqual([peppered.hash, plain.hash]);
    expect(await lookupHashes(secret, null)).toEqual([plain.hash]);
    expect((await hashSecret(secret, "other")).hash).not.toBe(peppered.hash);
  });

  it("compares in constant time and exactly", async () => {
    expect(await constantTimeEqual("a-long-admin-token", "a-long-admin-token")).toBe(true);
    expect(await constantTimeEqual("a-long-admin-token", "a-long-admin-tokeN")).toBe(false);
    expect(await constantTimeEqual("a-long-admin-token", "a-long-admin-token ")).toBe(false);
    expect(await constantTimeEqual("", "")).toBe(true);
  });
});
