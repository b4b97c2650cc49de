/**
 * The code bench/assertion-sign.mjs times, the same in Node and in workerd: `n` Keygate-Assertions signed one after
 * another, with jose's SignJWT or with WebCrypto directly the way src/gateway/assertion.ts does it. As a Worker,
 * `POST /run {impl, jwk, n}` runs it and answers the last token.
 */
import { SignJWT, calculateJwkThumbprint, importJWK } from "../node_modules/jose/dist/webapi/index.js";

const encoder = new TextEncoder();
const ALGORITHMS = { ES256: { name: "ECDSA", hash: "SHA-256" }, EdDSA: { name: "Ed25519" } };

function base64url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Native base64url where the runtime has it (workerd does; Node 24 does not, and falls back). */
const toBase64url = Uint8Array.prototype.toBase64
  ? (bytes) => bytes.toBase64({ alphabet: "base64url", omitPadding: true })
  : base64url;

/** What the Worker keeps per key: the imported key, and its JWS header already encoded. */
const prepared = new Map();
async function prepare(jwk) {
  const id = JSON.stringify(jwk);
  let entry = prepared.get(id);
  if (!entry) {
    const { kty, crv, x, y, d } = jwk;
    const key = await importJWK({ kty, crv, x, y, d }, jwk.alg);
    const kid = await calculateJwkThumbprint({ kty, crv, x, y });
    const header = { alg: jwk.alg, kid, typ: "JWT" };
    entry = { key, header, encodedHeader: base64url(encoder.encode(JSON.stringify(header))) };
    prepared.set(id, entry);
  }
  return entry;
}

function claims(i) {
  const iat = Math.floor(Date.now() / 1000);
  return {
    iss: "https://keygate.example.com",
    aud: "https://origin.example.com",
    sub: "key_01JC8Z3Q4R5S6T7V8W9X0Y1Z2A",
    project: "acme",
    deployment: "chat",
    jti: `req_${String(i).padStart(32, "0")}`,
    iat,
    exp: iat + 60,
  };
}

const SIGNERS = {
  jose: async ({ key, header }, payload) => new SignJWT(payload).setProtectedHeader(header).sign(key),
  webcrypto: async ({ key, header, encodedHeader }, payload) => {
    const input = `${encodedHeader}.${base64url(encoder.encode(JSON.stringify(payload)))}`;
    const signature = await crypto.subtle.sign(ALGORITHMS[header.alg], key, encoder.encode(input));
    return `${input}.${base64url(new Uint8Array(signature))}`;
  },
  "webcrypto+b64": async ({ key, header, encodedHeader }, payload) => {
    const input = `${encodedHeader}.${toBase64url(encoder.encode(JSON.stringify(payload)))}`;
    const signature = await crypto.subtle.sign(ALGORITHMS[header.alg], key, encoder.encode(input));
    return `${input}.${toBase64url(new Uint8Array(signature))}`;
  },
};

/** The floor: the signature alone, over an input of a token's size, with nothing encoded. */
const FLOOR_INPUT = encoder.encode("x".repeat(330));
SIGNERS["sign only"] = async ({ key, header }) => crypto.subtle.sign(ALGORITHMS[header.alg], key, FLOOR_INPUT).then(() => "");

export async function run({ impl, jwk, n }) {
  const entry = await prepare(jwk);
  const sign = SIGNERS[impl];
  let token = "";
  for (let i = 0; i < n; i++) token = await sign(entry, claims(i));
  return token;
}

export default {
  async fetch(request) {
    return Response.json({ token: await run(await request.json()) });
  },
};
