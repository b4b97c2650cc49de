/** Cloudflare Access as root admin: RS256 JWTs verified against a JWKS the test serves through injected fetch. */
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey as JoseKey } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { call, type OriginFetch } from "../helpers";

const TEAM = "acme.cloudflareaccess.com";
const AUD = "aud-tag-0123456789abcdef";
const accessEnv = { ...env, ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD };

let privateKey: JoseKey;
let jwks: { keys: unknown[] };

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  privateKey = pair.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" }] };
});

const servesJwks: OriginFetch = (request) => {
  if (request.url !== `https://${TEAM}/cdn-cgi/access/certs`) throw new Error(`unexpected fetch ${request.url}`);
  return Response.json(jwks);
};

function jwt(claims: Record<string, unknown> = {}, options: { exp?: string | null; iss?: string; aud?: string } = {}) {
  const builder = new SignJWT({ email: "ops@acme.example", ...claims })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(options.iss ?? `https://${TEAM}`)
    .setAudience(options.aud ?? AUD)
    .setIssuedAt();
  if (options.exp !== null) builder.setExpirationTime(options.exp ?? "5m");
  return builder.sign(privateKey);
}

async function asAccess(assertion: string, origin: OriginFetch = servesJwks, extraHeaders: Record<string, string> = {}) {
  const res = await call("/admin/v1/projects", {
    method: "POST",
    body: { slug: `acc-${crypto.randomUUID().slice(0, 8)}` },
    headers: { "cf-access-jwt-assertion": assertion, ...extraHeaders },
    origin,
    env: accessEnv,
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe("Cloudflare Access", () => {
  it("a valid Access JWT acts as root admin, audited as its email", async () => {
    const res = await asAccess(await jwt());
    expect(res.status).toBe(201);
    const audit = await call(`/admin/v1/projects/${res.body.slug}/audit`, {
      headers: { "cf-access-jwt-assertion": await jwt() },
      origin: servesJwks,
      env: accessEnv,
    });
    expect(((await audit.json()) as any).data[0].actor).toBe("access:ops@acme.example");
  });

  it.each([
    ["wrong audience", () => jwt({}, { aud: "someone-else" }), 401, "invalid_api_key"],
    ["wrong issuer", () => jwt({}, { iss: "https://evil.cloudflareaccess.com" }), 401, "invalid_api_key"],
    ["expired", () => jwt({}, { exp: "-1m" }), 401, "expired_api_key"],
    ["no exp claim", () => jwt({}, { exp: null }), 401, "invalid_api_key"],
    ["garbage", async () => "not.a.jwt", 401, "invalid_api_key"],
  ])("rejects a token with %s", async (_name, make, status, code) => {
    const res = await asAccess(await make());
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
  });

  it("rejects an HS256 token signed with the public key (algorithm confusion)", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
    const forged = await new SignJWT({ email: "x@y" })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setIssuer(`https://${TEAM}`)
      .setAudience(AUD)
      .setExpirationTime("5m")
      .sign(secret);
    expect((await asAccess(forged)).status).toBe(401);
  });

  it("fails closed with 503 when the JWKS cannot be fetched", async () => {
    const down: OriginFetch = () => {
      throw new TypeError("connect ECONNREFUSED");
    };
    const res = await asAccess(await jwt(), down);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("store_unavailable");
    expect(res.body.error.message).not.toContain("ECONNREFUSED");
    expect((await asAccess(await jwt(), () => new Response("oops", { status: 500 }))).status).toBe(503);
  });

  it("is not consulted when an Authorization header is sent", async () => {
    const res = await asAccess(await jwt(), servesJwks, { authorization: "Bearer wrong-token-value" });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("invalid_api_key");
  });

  it("is refused when Access is not configured", async () => {
    const res = await call("/admin/v1/projects", { headers: { "cf-access-jwt-assertion": await jwt() }, origin: servesJwks });
    expect(res.status).toBe(401);
  });
});
