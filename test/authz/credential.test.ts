import { describe, expect, it } from "vitest";
import { readBearer, readDataPlaneCredential } from "../../src/authz/credential";
import { generateSecret } from "../../src/secrets/format";

const key = generateSecret("api_key");
const otherKey = generateSecret("api_key");
const token = generateSecret("management_token");

/** The same key with its last checksum character changed, so only the checksum is wrong. */
const badChecksum = key.slice(0, -1) + (key.endsWith("A") ? "B" : "A");

const headers = (init: Record<string, string>) => new Headers(init);

describe("readDataPlaneCredential", () => {
  it.each([
    ["Bearer", { authorization: `Bearer ${key}` }],
    ["bearer (lower case)", { authorization: `bearer ${key}` }],
    ["BEARER (upper case)", { authorization: `BEARER ${key}` }],
    ["BeArEr (mixed case)", { authorization: `BeArEr ${key}` }],
    ["surrounding whitespace, trimmed by Fetch", { authorization: `  Bearer ${key}  ` }],
    ["X-API-Key", { "x-api-key": key }],
    ["both, same value", { authorization: `Bearer ${key}`, "x-api-key": key }],
    ["empty Authorization counts as absent", { authorization: "", "x-api-key": key }],
    ["empty X-API-Key counts as absent", { authorization: `Bearer ${key}`, "x-api-key": "" }],
  ])("accepts %s", (_, init) => {
    expect(readDataPlaneCredential(headers(init))).toEqual({ kind: "secret", secret: key });
  });

  it.each([
    ["no headers", {}],
    ["empty Authorization", { authorization: "" }],
    ["empty X-API-Key", { "x-api-key": "" }],
    ["only unrelated headers", { cookie: `key=${key}`, "x-api-token": key }],
  ])("finds no credential with %s", (_, init) => {
    expect(readDataPlaneCredential(headers(init))).toEqual({ kind: "none" });
  });

  it.each([
    ["Bearer with two spaces", { authorization: `Bearer  ${key}` }, "invalid_api_key"],
    ["Bearer with two tokens", { authorization: `Bearer ${key} ${key}` }, "invalid_api_key"],
    ["Bearer with a tab", { authorization: `Bearer\t${key}` }, "invalid_api_key"],
    ["Bearer with no token", { authorization: "Bearer" }, "invalid_api_key"],
    ["Bearer followed by only spaces", { authorization: "Bearer   " }, "invalid_api_key"],
    ["Basic", { authorization: `Basic ${btoa(`user:${key}`)}` }, "invalid_api_key"],
    ["a bare key without scheme", { authorization: key }, "invalid_api_key"],
    ["Token scheme", { authorization: `Token ${key}` }, "invalid_api_key"],
    ["Basic alongside a good X-API-Key", { authorization: "Basic dXNlcjpwYXNz", "x-api-key": key }, "invalid_api_key"],
    ["two different credentials", { authorization: `Bearer ${key}`, "x-api-key": otherKey }, "invalid_request"],
    ["two different credentials, one a token", { authorization: `Bearer ${token}`, "x-api-key": key }, "invalid_request"],
    ["management token as Bearer", { authorization: `Bearer ${token}` }, "wrong_credential_type"],
    ["management token as X-API-Key", { "x-api-key": token }, "wrong_credential_type"],
    ["malformed management token", { authorization: "Bearer ik_sdk_nope" }, "wrong_credential_type"],
    ["management token sent twice", { authorization: `Bearer ${token}`, "x-api-key": token }, "wrong_credential_type"],
    ["truncated key", { authorization: `Bearer ${key.slice(0, -1)}` }, "invalid_api_key"],
    ["truncated to the prefix", { authorization: "Bearer ik_live_" }, "invalid_api_key"],
    ["extended key", { authorization: `Bearer ${key}x` }, "invalid_api_key"],
    ["bad checksum", { authorization: `Bearer ${badChecksum}` }, "invalid_api_key"],
    ["bad charset", { "x-api-key": `${key.slice(0, 10)}-${key.slice(11)}` }, "invalid_api_key"],
    ["no known prefix", { authorization: "Bearer sk-proj-abcdef" }, "invalid_api_key"],
    ["prefix in another case", { authorization: `Bearer ${key.replace("ik_live_", "IK_LIVE_")}` }, "invalid_api_key"],
    ["X-API-Key sent twice (joined by Fetch)", { "x-api-key": `${key}, ${key}` }, "invalid_api_key"],
  ])("rejects %s", (_, init, code) => {
    const result = readDataPlaneCredential(headers(init));
    expect(result).toMatchObject({ kind: "error", code });
  });

  it("never puts the secret in the reason", () => {
    const cases: Record<string, string>[] = [
      { authorization: `Bearer  ${key}` },
      { authorization: `Bearer ${key}`, "x-api-key": otherKey },
      { authorization: `Bearer ${token}` },
      { authorization: `Bearer ${badChecksum}` },
    ];
    for (const init of cases) {
      const result = readDataPlaneCredential(headers(init));
      if (result.kind !== "error") throw new Error("expected an error");
      for (const secret of [key, otherKey, token, badChecksum]) expect(result.reason).not.toContain(secret.slice(8));
    }
  });

  it("reads two Authorization headers as one malformed value", () => {
    const h = new Headers();
    h.append("authorization", `Bearer ${key}`);
    h.append("authorization", `Bearer ${otherKey}`);
    expect(readDataPlaneCredential(h)).toMatchObject({ kind: "error", code: "invalid_api_key" });
  });
});

describe("readBearer", () => {
  it.each([
    [{}, { kind: "none" }],
    [{ authorization: "" }, { kind: "none" }],
    [{ authorization: "Bearer test-admin-token-0123456789" }, { kind: "bearer", token: "test-admin-token-0123456789" }],
    [{ authorization: `bearer ${token}` }, { kind: "bearer", token }],
    [{ authorization: `Bearer ${key}` }, { kind: "bearer", token: key }],
    // The raw token is returned as is; judging its format is the caller's business.
    [{ authorization: "Bearer malformed" }, { kind: "bearer", token: "malformed" }],
    [{ "x-api-key": token }, { kind: "none" }],
  ])("%j → %j", (init, expected) => {
    expect(readBearer(headers(init))).toEqual(expected);
  });

  it.each([
    [{ authorization: "Bearer" }],
    [{ authorization: "Bearer  x" }],
    [{ authorization: "Bearer a b" }],
    [{ authorization: "Basic dXNlcjpwYXNz" }],
    [{ authorization: "Bearerx" }],
  ])("%j is malformed", (init) => {
    expect(readBearer(headers(init))).toMatchObject({ kind: "malformed" });
  });
});
