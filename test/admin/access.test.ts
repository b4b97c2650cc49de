/** Cloudflare Access as root admin: RS256 JWTs verified against a JWKS the test serves through injected fetch. */
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey as JoseKey } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { accessVerifier } from "../../src/admin/access";
import { BASE, call, testWorker, type OriginFetch } from "../helpers";

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

/** A call as a fresh isolate would make it: a new Worker, so no Access keys are cached yet. */
async function asAccess(assertion: string, origin: OriginFetch = servesJwks, extraHeaders: Record<string, string> = {}) {
  const res = await call("/admin/v1/projects", {
    worker: testWorker(),
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

describe("Cloudflare Access keys cache (one verifier, as one isolate keeps it)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A fetch that serves `body()` for the certs URL and counts calls. */
  function countingFetch(body: () => unknown) {
    const counter = { calls: 0 };
    const fetchFn = (async (input: RequestInfo | URL) => {
      expect(String(input)).toBe(`https://${TEAM}/cdn-cgi/access/certs`);
      counter.calls++;
      return Response.json(body());
    }) as typeof fetch;
    return { counter, verify: accessVerifier(fetchFn) };
  }

  async function code(promise: Promise<unknown>) {
    return promise.then(
      () => "ok",
      (err: { code?: string }) => err.code,
    );
  }

  it("fetches the keys once and keeps them 10 minutes", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { counter, verify } = countingFetch(() => jwks);
    expect(await code(verify(await jwt(), TEAM, AUD))).toBe("ok");
    expect(await code(verify(await jwt(), TEAM, AUD))).toBe("ok");
    expect(counter.calls).toBe(1);
    vi.setSystemTime(Date.now() + 10 * 60_000 + 1);
    expect(await code(verify(await jwt(), TEAM, AUD))).toBe("ok");
    expect(counter.calls).toBe(2);
  });

  it("refetches for an unknown kid (key rotation), but at most every 30 s", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const rotated = await generateKeyPair("RS256");
    const k2 = { ...(await exportJWK(rotated.publicKey)), kid: "k2", alg: "RS256", use: "sig" };
    let served = jwks;
    const { counter, verify } = countingFetch(() => served);
    const signedWithK2 = () =>
      new SignJWT({ email: "ops@acme.example" })
        .setProtectedHeader({ alg: "RS256", kid: "k2" })
        .setIssuer(`https://${TEAM}`)
        .setAudience(AUD)
        .setExpirationTime("5m")
        .sign(rotated.privateKey);
    expect(await code(verify(await jwt(), TEAM, AUD))).toBe("ok");
    served = { keys: [...jwks.keys, k2] };
    // Just fetched: an unknown kid is refused without asking again.
    expect(await code(verify(await signedWithK2(), TEAM, AUD))).toBe("invalid_api_key");
    expect(counter.calls).toBe(1);
    vi.setSystemTime(Date.now() + 30_001);
    expect(await code(verify(await signedWithK2(), TEAM, AUD))).toBe("ok");
    expect(counter.calls).toBe(2);
  });

  it.each([
    ["not JSON", () => new Response("<html>", { headers: { "content-type": "text/html" } })],
    ["JSON but not a key set", () => Response.json({ nope: true })],
    ["a redirect", () => new Response(null, { status: 302, headers: { location: "https://elsewhere.example/" } })],
  ])("fails closed with 503 when the keys are %s", async (_name, answer) => {
    const verify = accessVerifier((async () => answer()) as typeof fetch);
    const err = await verify(await jwt(), TEAM, AUD).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "store_unavailable" });
  });
});

/**
 * The web console behind Access: the browser's CF_Authorization cookie makes the edge add the JWT to every request,
 * whichever site caused it, so a cookie-authenticated write must carry X-Keygate-Console and not be cross-site
 * (src/admin/csrf.ts). A Bearer token, or an Access service token (no cookie), needs neither.
 */
describe("Cloudflare Access: writes made with the browser cookie (CSRF)", () => {
  const COOKIE = { cookie: "theme=dark; CF_Authorization=eyJhbGciOi.cookie.value" };
  const CONSOLE = { "x-keygate-console": "1" };

  it.each([
    ["no X-Keygate-Console header", { ...COOKIE }],
    ["a cross-site fetch (Sec-Fetch-Site: cross-site)", { ...COOKIE, ...CONSOLE, "sec-fetch-site": "cross-site" }],
    ["a same-site but other-origin fetch (Sec-Fetch-Site: same-site)", { ...COOKIE, ...CONSOLE, "sec-fetch-site": "same-site" }],
    ["another Origin (no Sec-Fetch-Site)", { ...COOKIE, ...CONSOLE, origin: "https://evil.example" }],
    ["an opaque Origin: null (no Sec-Fetch-Site)", { ...COOKIE, ...CONSOLE, origin: "null" }],
    ["a request the browser made with no initiator (Sec-Fetch-Site: none)", { ...COOKIE, ...CONSOLE, "sec-fetch-site": "none" }],
    ["the cookie alone, with no header", { cookie: "CF_Authorization=eyJ.x.y" }],
    ["the cookie in a second Cookie field (joined with a comma)", { cookie: "theme=dark, CF_Authorization=eyJ.x.y" }],
  ])("refuses %s with 403 csrf_check_failed, and writes nothing", async (_name, headers) => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM projects").first<{ n: number }>();
    const res = await asAccess(await jwt(), servesJwks, headers);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: "csrf_check_failed", type: "permission_error" });
    const after = await env.DB.prepare("SELECT count(*) AS n FROM projects").first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });

  it.each([
    ["the console's header from its own origin", { ...COOKIE, ...CONSOLE, "sec-fetch-site": "same-origin" }],
    ["the console's header and this host's Origin", { ...COOKIE, ...CONSOLE, origin: BASE }],
    ["an Access service token's JWT without a cookie", {}],
  ])("allows a write with %s", async (_name, headers) => {
    expect((await asAccess(await jwt(), servesJwks, headers)).status).toBe(201);
  });

  it.each(["PATCH", "PUT", "DELETE"])("checks %s like POST", async (method) => {
    const created = await asAccess(await jwt());
    const res = await call(`/admin/v1/projects/${created.body.slug}`, {
      method,
      body: method === "PATCH" ? { name: "renamed" } : undefined,
      headers: { "cf-access-jwt-assertion": await jwt(), ...COOKIE, "sec-fetch-site": "cross-site", ...CONSOLE },
      origin: servesJwks,
      env: accessEnv,
    });
    // Before any route is matched: a method the route does not have is refused the same way.
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.code).toBe("csrf_check_failed");
  });

  it("an invalid JWT is 401 before the cross-site check says anything", async () => {
    const res = await asAccess("not.a.jwt", servesJwks, { ...COOKIE, "sec-fetch-site": "cross-site" });
    expect(res.status).toBe(401);
  });

  it("reads with the cookie need no header", async () => {
    const res = await call("/admin/v1/projects", {
      headers: { "cf-access-jwt-assertion": await jwt(), ...COOKIE, "sec-fetch-site": "cross-site" },
      origin: servesJwks,
      env: accessEnv,
    });
    expect(res.status).toBe(200);
  });
});
