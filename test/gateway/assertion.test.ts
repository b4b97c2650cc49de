/**
 * The Keygate-Assertion through the Worker's fetch (docs/api.md, "Signed assertion to the origin"): the origin played
 * here checks each token the way a real one would, against the JWKS the Worker publishes, and refuses what a real
 * one must refuse. Also: the client's own header never passes, the previous key is published, and a key that is
 * missing or does not parse fails closed.
 */
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
} from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import {
  ADMIN_TOKEN,
  BASE,
  call,
  captureConsole,
  createDeployment,
  createProject,
  expectError,
  fixture,
  recordingOrigin,
  testWorker,
  withEnv,
  type OriginFetch,
} from "../helpers";

const ORIGIN_URL = "https://origin.example.com";
const HEADER = "keygate-assertion";
const ALGS = ["ES256", "EdDSA"] as const;
type Alg = (typeof ALGS)[number];

interface TestKey {
  privateJwk: JWK;
  publicJwk: JWK;
  privateKey: CryptoKey;
  thumbprint: string;
}

async function newKey(alg: Alg): Promise<TestKey> {
  const pair = await generateKeyPair(alg, alg === "EdDSA" ? { crv: "Ed25519", extractable: true } : { extractable: true });
  const publicJwk = await exportJWK(pair.publicKey);
  return {
    privateJwk: await exportJWK(pair.privateKey),
    publicJwk,
    privateKey: pair.privateKey,
    thumbprint: await calculateJwkThumbprint(publicJwk),
  };
}

const keys = {} as Record<Alg, TestKey>;
const otherKeys = {} as Record<Alg, TestKey>;
beforeAll(async () => {
  for (const alg of ALGS) {
    keys[alg] = await newKey(alg);
    otherKeys[alg] = await newKey(alg);
  }
});

const keyEnv = (key: JWK, extra: Partial<Env> = {}): Env => withEnv({ ASSERTION_SIGNING_KEY: JSON.stringify(key), ...extra });

async function fetchJwks(env: Env): Promise<JSONWebKeySet> {
  const res = await call("/.well-known/jwks.json", { env });
  expect(res.status).toBe(200);
  return (await res.json()) as JSONWebKeySet;
}

/** What a real origin does with the header: verify it against keygate's JWKS, for keygate's issuer and its own URL. */
async function verify(token: string | null, jwks: JSONWebKeySet, audience = ORIGIN_URL): Promise<JWTPayload> {
  if (token === null) throw new Error("no Keygate-Assertion");
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: BASE,
    audience,
    algorithms: [...ALGS],
    requiredClaims: ["sub", "jti", "iat", "exp", "project", "deployment"],
  });
  return payload;
}

/** An origin that answers 200 with the verified claims, and 401 to a request without a valid assertion. */
function verifyingOrigin(jwks: JSONWebKeySet) {
  const seen: Request[] = [];
  const origin: OriginFetch = async (request) => {
    seen.push(request);
    try {
      return Response.json(await verify(request.headers.get(HEADER), jwks));
    } catch (err) {
      return Response.json({ refused: (err as Error).name }, { status: 401 });
    }
  };
  return { origin, seen };
}

describe.each(ALGS)("with an %s signing key", (alg) => {
  it("publishes the public key alone, with kid, alg and use, at /.well-known/jwks.json", async () => {
    const env = keyEnv(keys[alg].privateJwk);
    const res = await call("/.well-known/jwks.json", { env, headers: { "x-request-id": "jwks-request-1" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-request-id")).toBe("jwks-request-1");
    const jwks = (await res.json()) as JSONWebKeySet;
    expect(jwks).toEqual({ keys: [{ ...keys[alg].publicJwk, kid: keys[alg].thumbprint, alg, use: "sig" }] });
    expect(JSON.stringify(jwks)).not.toContain(keys[alg].privateJwk.d);

    // HEAD as GET, like /healthz: the runtime drops the body on the wire.
    const head = await call("/.well-known/jwks.json", { env, method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("cache-control")).toBe("public, max-age=300");
  });

  it("signs every forwarded request: the origin verifies it against the JWKS and sees every claim", async () => {
    const env = keyEnv(keys[alg].privateJwk);
    const jwks = await fetchJwks(env);
    const f = await fixture({ origin: { url: ORIGIN_URL, assertion: true } });
    const { origin, seen } = verifyingOrigin(jwks);
    const before = Math.floor(Date.now() / 1000);
    const res = await call(`${f.path}/v1/chat/completions`, { token: f.key.key, body: { messages: [] }, origin, env });
    expect(res.status).toBe(200);
    const claims = (await res.json()) as JWTPayload;
    const requestId = res.headers.get("x-request-id");
    expect(claims).toEqual({
      iss: BASE,
      aud: ORIGIN_URL,
      sub: f.key.id,
      project: f.project.slug,
      deployment: f.deployment.slug,
      jti: requestId,
      iat: expect.any(Number),
      exp: claims.iat! + 60,
    });
    expect(claims.iat).toBeGreaterThanOrEqual(before - 1);
    expect(claims.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 1);
    expect(seen[0]!.headers.get("x-request-id")).toBe(requestId);
    expect(decodeProtectedHeader(seen[0]!.headers.get(HEADER)!)).toEqual({ alg, kid: keys[alg].thumbprint, typ: "JWT" });
  });

  it("a token each request: another request id, another jti", async () => {
    const env = keyEnv(keys[alg].privateJwk);
    const jwks = await fetchJwks(env);
    const f = await fixture({ origin: { url: ORIGIN_URL, assertion: true } });
    const { origin, seen } = verifyingOrigin(jwks);
    for (const id of ["client-request-a", "client-request-b"]) {
      const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin, env, headers: { "x-request-id": id }, settle: false });
      expect(((await res.json()) as JWTPayload).jti).toBe(id);
    }
    expect(seen[0]!.headers.get(HEADER)).not.toBe(seen[1]!.headers.get(HEADER));
  });

  it("the origin's check refuses a forged token, an expired one, and one for another origin", async () => {
    const env = keyEnv(keys[alg].privateJwk);
    const jwks = await fetchJwks(env);
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: "key_x", project: "p", deployment: "d", jti: "req_x" };
    const token = (key: CryptoKey, overrides: { aud?: string; iat?: number } = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg, kid: keys[alg].thumbprint, typ: "JWT" })
        .setIssuer(BASE)
        .setAudience(overrides.aud ?? ORIGIN_URL)
        .setIssuedAt(overrides.iat ?? now)
        .setExpirationTime((overrides.iat ?? now) + 60)
        .sign(key);

    // The control: the same token, signed with keygate's key, passes.
    await expect(verify(await token(keys[alg].privateKey), jwks)).resolves.toMatchObject(claims);
    await expect(verify(await token(otherKeys[alg].privateKey), jwks)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
    await expect(verify(await token(keys[alg].privateKey, { iat: now - 120 }), jwks)).rejects.toBeInstanceOf(errors.JWTExpired);
    await expect(verify(await token(keys[alg].privateKey, { aud: "https://other.example.com" }), jwks)).rejects.toMatchObject({
      code: "ERR_JWT_CLAIM_VALIDATION_FAILED",
      claim: "aud",
    });
    // And through the Worker: a deployment whose origin is elsewhere gets a token that this origin refuses.
    const f = await fixture({ origin: { url: "https://other.example.com", assertion: true } });
    const { origin } = verifyingOrigin(jwks);
    const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin, env });
    expect(await res.json()).toEqual({ refused: "JWTClaimValidationFailed" });
  });
});

describe("which requests carry it", () => {
  it("none when origin.assertion is false, and a client's own header never passes", async () => {
    const env = keyEnv(keys.ES256.privateJwk);
    const f = await fixture();
    const { origin, seen } = recordingOrigin();
    const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin, env, headers: { "Keygate-Assertion": "forged.by.client" } });
    expect(res.status).toBe(200);
    expect(seen[0]!.headers.has(HEADER)).toBe(false);
  });

  it("on a deployment with origin.assertion, keygate's replaces the client's (an origin header of that name is refused by the API)", async () => {
    const env = keyEnv(keys.ES256.privateJwk);
    const jwks = await fetchJwks(env);
    const f = await fixture({ origin: { url: ORIGIN_URL, assertion: true } });
    const { origin, seen } = verifyingOrigin(jwks);
    const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin, env, headers: { "Keygate-Assertion": "forged.by.client" } });
    expect(res.status).toBe(200);
    expect(seen[0]!.headers.get(HEADER)).not.toMatch(/forged\.by\.client/);
  });

  it("with auth off, sub is anonymous", async () => {
    const env = keyEnv(keys.EdDSA.privateJwk);
    const jwks = await fetchJwks(env);
    const project = await createProject();
    const deployment = await createDeployment(project.slug, { auth_enabled: false, origin: { url: ORIGIN_URL, assertion: true } });
    const { origin } = verifyingOrigin(jwks);
    const res = await call(`/endpoint/${project.slug}/${deployment.slug}/v1/models`, { origin, env, token: "ignored-credential" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sub: "anonymous", project: project.slug, deployment: deployment.slug });
  });

  it("the issuer is the origin the client called: a host-based URL gives its own", async () => {
    const env = keyEnv(keys.ES256.privateJwk, { ENDPOINT_HOST_SUFFIX: "ai.keygate.test" });
    const f = await fixture({ origin: { url: ORIGIN_URL, assertion: true } });
    const { origin, seen } = recordingOrigin();
    const base = `https://${f.deployment.slug}.${f.project.slug}.ai.keygate.test`;
    const res = await call("/v1/models", { token: f.key.key, origin, env, base });
    expect(res.status).toBe(200);
    const { payload } = await jwtVerify(seen[0]!.headers.get(HEADER)!, createLocalJWKSet(await fetchJwks(env)), { issuer: base, audience: ORIGIN_URL });
    expect(payload.deployment).toBe(f.deployment.slug);
  });

  it("through the PrivateEndpoint binding, the issuer is the origin of the URL the calling Worker used", async () => {
    const env = keyEnv(keys.EdDSA.privateJwk);
    const f = await fixture({ origin: { url: ORIGIN_URL, assertion: true }, endpoints: { private: { enabled: true } } });
    const { origin, seen } = recordingOrigin();
    const res = await call(`${f.path}/v1/models`, { token: f.key.key, origin, env, base: "https://keygate.internal", privateProps: { caller: "billing" } });
    expect(res.status).toBe(200);
    const { payload } = await jwtVerify(seen[0]!.headers.get(HEADER)!, createLocalJWKSet(await fetchJwks(env)), {
      issuer: "https://keygate.internal",
      audience: ORIGIN_URL,
    });
    expect(payload.sub).toBe(f.key.id);
  });
});

describe("rotation", () => {
  it("publishes the previous key after the current one, signs with the current one only", async () => {
    const env = keyEnv(keys.ES256.privateJwk, { ASSERTION_SIGNING_KEY_PREVIOUS: JSON.stringify(keys.EdDSA.privateJwk) });
    const jwks = await fetchJwks(env);
    expect(jwks.keys).toEqual([
      { ...keys.ES256.publicJwk, kid: keys.ES256.thumbprint, alg: "ES256", use: "sig" },
      { ...keys.EdDSA.publicJwk, kid: keys.EdDSA.thumbprint, alg: "EdDSA", use: "sig" },
    ]);
    expect(JSON.stringify(jwks)).not.toContain(keys.EdDSA.privateJwk.d);

    const f = await fixture({ origin: { url: ORIGIN_URL, assertion: true } });
    const { origin, seen } = verifyingOrigin(jwks);
    expect((await call(`${f.path}/v1/models`, { token: f.key.key, origin, env })).status).toBe(200);
    expect(decodeProtectedHeader(seen[0]!.headers.get(HEADER)!).kid).toBe(keys.ES256.thumbprint);

    // A token the previous key signed (an isolate of the last version, a request in flight) still verifies.
    const old = await new SignJWT({ sub: "key_x", project: "p", deployment: "d", jti: "req_x" })
      .setProtectedHeader({ alg: "EdDSA", kid: keys.EdDSA.thumbprint })
      .setIssuer(BASE)
      .setAudience(ORIGIN_URL)
      .setIssuedAt()
      .setExpirationTime("60s")
      .sign(keys.EdDSA.privateKey);
    await expect(verify(old, jwks)).resolves.toMatchObject({ sub: "key_x" });
  });

  it("uses a key's own kid, and takes a public JWK as the previous key", async () => {
    const env = keyEnv(
      { ...keys.EdDSA.privateJwk, kid: "2026-12", alg: "EdDSA" },
      { ASSERTION_SIGNING_KEY_PREVIOUS: JSON.stringify({ ...keys.ES256.publicJwk, kid: "2026-06" }) },
    );
    const jwks = await fetchJwks(env);
    expect(jwks.keys.map((k) => k.kid)).toEqual(["2026-12", "2026-06"]);
    const f = await fixture({ origin: { url: ORIGIN_URL, assertion: true } });
    const { origin, seen } = verifyingOrigin(jwks);
    expect((await call(`${f.path}/v1/models`, { token: f.key.key, origin, env })).status).toBe(200);
    expect(decodeProtectedHeader(seen[0]!.headers.get(HEADER)!)).toEqual({ alg: "EdDSA", kid: "2026-12", typ: "JWT" });
  });

  it("rotates with the JWKS's own entry as the previous key (a secret cannot be read back)", async () => {
    const before = await fetchJwks(keyEnv(keys.ES256.privateJwk));
    const published = JSON.stringify(before.keys[0]);
    // Step 1: the current key, as published, becomes the previous one: the same key, published once.
    const step1 = keyEnv(keys.ES256.privateJwk, { ASSERTION_SIGNING_KEY_PREVIOUS: published });
    expect(await fetchJwks(step1)).toEqual(before);
    // Step 2: a new signing key; the old one stays published under the same kid.
    const step2 = keyEnv(keys.EdDSA.privateJwk, { ASSERTION_SIGNING_KEY_PREVIOUS: published });
    expect((await fetchJwks(step2)).keys.map((k) => k.kid)).toEqual([keys.EdDSA.thumbprint, keys.ES256.thumbprint]);
  });
});

describe("no key, or a key that does not parse", () => {
  it("no key: the JWKS is empty, and a deployment with origin.assertion is refused, not forwarded unsigned", async () => {
    expect(await fetchJwks(withEnv({}))).toEqual({ keys: [] });
    const f = await fixture({ origin: { url: ORIGIN_URL, assertion: true } });
    const plain = await fixture();
    const { origin, seen } = recordingOrigin();
    const logs = captureConsole();
    try {
      await expectError(await call(`${f.path}/v1/models`, { token: f.key.key, origin }), 500, "internal_error");
      expect(seen).toHaveLength(0);
      const [line] = logs.endpointLines();
      expect(line).toMatchObject({ decision: "internal_error", status: 500, error: expect.stringContaining("ASSERTION_SIGNING_KEY") });
      // Deployments without the assertion are not affected.
      expect((await call(`${plain.path}/v1/models`, { token: plain.key.key, origin })).status).toBe(200);
    } finally {
      logs.restore();
    }
  });

  it.each([
    ["not JSON", () => `{"kty":"EC","d":"${keys.ES256.privateJwk.d}"`],
    ["a public key", () => JSON.stringify(keys.ES256.publicJwk)],
    ["an unsupported curve", () => JSON.stringify({ ...keys.EdDSA.privateJwk, crv: "Ed448" })],
  ])("%s: every request fails closed, the log names the variable, nothing echoes the value", async (_, value) => {
    const raw = value();
    const env = withEnv({ ASSERTION_SIGNING_KEY: raw });
    const f = await fixture();
    const { origin, seen } = recordingOrigin();
    const logs = captureConsole();
    try {
      const responses = [
        await call(`${f.path}/v1/models`, { token: f.key.key, origin, env }),
        await call("/admin/v1/projects", { token: ADMIN_TOKEN, env }),
        await call("/healthz", { env }),
        await call("/.well-known/jwks.json", { env }),
      ];
      for (const response of responses) {
        const body = await expectError(response, 500, "internal_error");
        expect(JSON.stringify(body)).not.toContain("ASSERTION_SIGNING_KEY");
      }
      expect(seen).toHaveLength(0);
      const logged = logs.lines.filter((line) => line.includes(`"configuration"`));
      expect(logged).toHaveLength(4);
      for (const line of logged) expect(line).toContain("ASSERTION_SIGNING_KEY");
      for (const line of logs.lines) {
        expect(line).not.toContain(raw);
        expect(line).not.toContain(keys.ES256.privateJwk.d);
        expect(line).not.toContain(keys.EdDSA.privateJwk.d);
      }
    } finally {
      logs.restore();
    }
  });

  // workerd refuses such a P-256 key when importing it; it takes such an Ed25519 key, which keygate's check then refuses.
  it.each(ALGS)("%s: a well-formed key whose private part is another key's: signed requests and the JWKS fail closed", async (alg) => {
    const mismatched = { ...keys[alg].privateJwk, d: otherKeys[alg].privateJwk.d };
    const env = keyEnv(mismatched);
    const f = await fixture({ origin: { url: ORIGIN_URL, assertion: true } });
    const plain = await fixture();
    const { origin, seen } = recordingOrigin();
    const logs = captureConsole();
    try {
      await expectError(await call(`${f.path}/v1/models`, { token: f.key.key, origin, env, worker: testWorker() }), 500, "internal_error");
      await expectError(await call("/.well-known/jwks.json", { env }), 500, "internal_error");
      expect(seen).toHaveLength(0);
      const errorsLogged = logs.lines.filter((line) => line.includes('"level":"error"') || line.includes('"decision":"internal_error"'));
      expect(errorsLogged.length).toBeGreaterThanOrEqual(2);
      for (const line of errorsLogged) expect(line).toContain("ASSERTION_SIGNING_KEY");
      for (const line of logs.lines) expect(line).not.toContain(otherKeys[alg].privateJwk.d);
      // The form was right, so only what needs the key is refused.
      expect((await call(`${plain.path}/v1/models`, { token: plain.key.key, origin, env })).status).toBe(200);
    } finally {
      logs.restore();
    }
  });

  it("a previous key under the current key's kid but another key fails closed", async () => {
    const env = keyEnv(
      { ...keys.ES256.privateJwk, kid: "same" },
      { ASSERTION_SIGNING_KEY_PREVIOUS: JSON.stringify({ ...otherKeys.ES256.publicJwk, kid: "same" }) },
    );
    const logs = captureConsole();
    try {
      await expectError(await call("/.well-known/jwks.json", { env }), 500, "internal_error");
      expect(logs.lines.join("\n")).toContain("ASSERTION_SIGNING_KEY_PREVIOUS");
    } finally {
      logs.restore();
    }
  });
});
