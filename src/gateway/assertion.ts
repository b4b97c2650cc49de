/**
 * The Keygate-Assertion (docs/api.md, "Signed assertion to the origin"): a short-lived JWT keygate signs for every
 * request it forwards to a deployment with `origin.assertion`, so the origin can check that the request came
 * through keygate, and for which key, project and deployment; and the JWKS (`/.well-known/jwks.json`) that publishes
 * the keys to check it with.
 *
 * The keys are parsed with the configuration (config.ts) and imported here once per isolate, on first use: an
 * import costs far more than a signature. A token is then one WebCrypto signature over a payload encoded by hand,
 * with the JWS header encoded once per key: measured in workerd (bench/assertion-sign.mjs) this is cheaper than
 * jose's SignJWT, which validates and re-encodes the header for each token.
 */
import type { DeploymentRecord } from "../authz/types";
import { ConfigError, type AssertionKey, type AssertionKeys } from "../config";
import { ApiError, errorResponse, internalReason, toApiError } from "../errors";
import { logLine } from "../log";
import { requestIdFor } from "../request-id";

export const JWKS_PATH = "/.well-known/jwks.json";

/** Long enough for any clock skew between keygate and the origin, short enough that a leaked token soon dies. */
export const ASSERTION_TTL_S = 60;

/** The claims of one token; `sub` is the allowed key's id, or "anonymous" when the deployment's auth is off. */
export interface AssertionClaims {
  iss: string;
  aud: string;
  sub: string;
  project: string;
  deployment: string;
  jti: string;
  iat: number;
  exp: number;
}

const ALGORITHMS = {
  ES256: { name: "ECDSA", hash: "SHA-256" },
  EdDSA: { name: "Ed25519" },
} as const satisfies Record<AssertionKey["alg"], SubtleCryptoSignAlgorithm>;

interface Signer {
  key: CryptoKey;
  algorithm: (typeof ALGORITHMS)[AssertionKey["alg"]];
  /** The JWS protected header, already in base64url: the same for every token of the key. */
  header: string;
}

interface Imported {
  /** null: no ASSERTION_SIGNING_KEY. */
  signer: Signer | null;
  /** The JWKS document, serialised once. */
  jwks: string;
}

/** Per isolate and configuration (configOf parses once per env): the import, or the ConfigError it ended in. */
const imported = new WeakMap<AssertionKeys, Promise<Imported>>();

function importedKeys(keys: AssertionKeys): Promise<Imported> {
  let entry = imported.get(keys);
  if (entry === undefined) {
    entry = importKeys(keys);
    imported.set(keys, entry);
  }
  return entry;
}

const encoder = new TextEncoder();

/** Uint8Array.prototype.toBase64 (ES2026), which TypeScript's es2024 lib does not declare. */
type Base64Bytes = Uint8Array & { toBase64(options: { alphabet: "base64url"; omitPadding: boolean }): string };

/**
 * Native in every runtime that knows wrangler.toml's compatibility date; a few µs a token cheaper than btoa over
 * a byte string (bench/assertion-sign.mjs).
 */
function base64url(bytes: Uint8Array): string {
  return (bytes as Base64Bytes).toBase64({ alphabet: "base64url", omitPadding: true });
}

/**
 * The Keygate-Assertion for one forwarded request. With no signing key configured the request is refused (500
 * `internal_error`) rather than forwarded unsigned: the origin relies on the assertion, and may not check it is
 * there.
 *
 * @param requestUrl the URL keygate was called at: its origin is the issuer
 */
export async function signedAssertion(
  keys: AssertionKeys | undefined,
  requestUrl: string,
  deployment: DeploymentRecord,
  keyId: string | null,
  requestId: string,
): Promise<string> {
  if (!keys?.signing) {
    throw new ApiError("internal_error", undefined, null, {
      cause: "the deployment has origin.assertion but ASSERTION_SIGNING_KEY is not set: refused rather than forwarded unsigned",
    });
  }
  // Present: keys.signing is.
  const signer = (await importedKeys(keys)).signer!;
  const iat = Math.floor(Date.now() / 1000);
  const claims: AssertionClaims = {
    iss: new URL(requestUrl).origin,
    aud: deployment.originUrl,
    sub: keyId ?? "anonymous",
    project: deployment.projectSlug,
    deployment: deployment.slug,
    jti: requestId,
    iat,
    exp: iat + ASSERTION_TTL_S,
  };
  const input = `${signer.header}.${base64url(encoder.encode(JSON.stringify(claims)))}`;
  const signature = await crypto.subtle.sign(signer.algorithm, signer.key, encoder.encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/** `GET /.well-known/jwks.json`: the public keys, the previous one included; `{"keys": []}` when none is set. */
export async function jwksResponse(request: Request, keys: AssertionKeys): Promise<Response> {
  const requestId = requestIdFor(request);
  let jwks: string;
  try {
    ({ jwks } = await importedKeys(keys));
  } catch (err) {
    const apiError = toApiError(err);
    logLine({ level: "error", msg: "jwks", request_id: requestId, error: internalReason(apiError) });
    return errorResponse(apiError, requestId);
  }
  return new Response(jwks, {
    headers: {
      "content-type": "application/json",
      // Verifiers may cache it; one that meets an unknown kid (after a rotation) should fetch it again.
      "cache-control": "public, max-age=300",
      "x-request-id": requestId,
    },
  });
}

/**
 * Imports both keys and builds the JWKS. A key that form checks passed but that WebCrypto refuses, or whose private
 * member does not belong to its public ones (signatures nobody could verify), is a ConfigError naming the variable:
 * every signed request and the JWKS then answer 500 until it is fixed.
 */
async function importKeys({ signing, previous }: AssertionKeys): Promise<Imported> {
  if (signing === null && previous === null) return { signer: null, jwks: JSON.stringify({ keys: [] }) };
  // Loaded on first use, not at start-up: a data plane with no keys never pays for jose (the control plane shares it).
  const { calculateJwkThumbprint, importJWK } = await import("./jose-keys");
  const kidOf = async (key: AssertionKey): Promise<string> => key.kid ?? (await calculateJwkThumbprint(key.publicJwk));
  const importKey = async (variable: string, key: AssertionKey, part: "public" | "private"): Promise<CryptoKey> => {
    try {
      return (await importJWK(part === "public" ? key.publicJwk : { ...key.publicJwk, d: key.d! }, key.alg)) as CryptoKey;
    } catch {
      throw new ConfigError(variable, `is not a key WebCrypto accepts for ${key.alg}`);
    }
  };
  const published: Record<string, string>[] = [];
  let signer: Signer | null = null;
  let signingKid: string | null = null;

  if (signing !== null) {
    const variable = "ASSERTION_SIGNING_KEY";
    const privateKey = await importKey(variable, signing, "private");
    const publicKey = await importKey(variable, signing, "public");
    const algorithm = ALGORITHMS[signing.alg];
    const probe = encoder.encode("keygate assertion key check");
    if (!(await crypto.subtle.verify(algorithm, publicKey, await crypto.subtle.sign(algorithm, privateKey, probe), probe))) {
      throw new ConfigError(variable, 'has a private member "d" that does not belong to its public members');
    }
    signingKid = await kidOf(signing);
    const header = encoder.encode(JSON.stringify({ alg: signing.alg, kid: signingKid, typ: "JWT" }));
    signer = { key: privateKey, algorithm, header: base64url(header) };
    published.push({ ...signing.publicJwk, kid: signingKid, alg: signing.alg, use: "sig" });
  }

  if (previous !== null) {
    const variable = "ASSERTION_SIGNING_KEY_PREVIOUS";
    await importKey(variable, previous, "public");
    const kid = await kidOf(previous);
    if (kid === signingKid) {
      // The same key set twice is published once; two keys under one kid would leave a verifier guessing.
      if (JSON.stringify(previous.publicJwk) !== JSON.stringify(signing!.publicJwk)) {
        throw new ConfigError(variable, "has the kid of ASSERTION_SIGNING_KEY but is another key");
      }
    } else {
      published.push({ ...previous.publicJwk, kid, alg: previous.alg, use: "sig" });
    }
  }
  return { signer, jwks: JSON.stringify({ keys: published }) };
}
