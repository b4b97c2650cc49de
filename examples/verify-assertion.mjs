// An origin that serves only requests keygate forwarded: each must carry a Keygate-Assertion that verifies against
// keygate's published keys, for keygate as issuer and this origin as audience (docs/api.md, "Signed assertion to
// the origin"). Anything else gets 401. A real origin would then pass the request to its model server; this one
// answers with the verified claims.
//
//   KEYGATE_URL=https://ai.example.com PUBLIC_URL=https://llm.example.com PORT=8000 node examples/verify-assertion.mjs
//
//   KEYGATE_URL  keygate's own origin: the tokens' issuer (the scheme and host clients call keygate at), and where
//                its JWKS is (`/.well-known/jwks.json`)
//   PUBLIC_URL   this origin's URL exactly as the deployment's `origin.url` shows it: the tokens' audience
//   PORT         where to listen (default 8000)
//
// Then turn the assertion on for the deployment: PATCH …/deployments/{deployment} with
// {"origin": {"url": "<PUBLIC_URL>", "assertion": true}} (keygate needs ASSERTION_SIGNING_KEY set).
//
// Locally, with `npm start` (keygate on http://127.0.0.1:8787, which allows http origins): put a key in .dev.vars
// as one line, ASSERTION_SIGNING_KEY='<JWK>', from
//   node -e 'import("jose").then(async ({ generateKeyPair, exportJWK }) => console.log(JSON.stringify(await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey))))'
// then run this with KEYGATE_URL=http://127.0.0.1:8787 PUBLIC_URL=http://127.0.0.1:8000, and point a deployment at
// {"url": "http://127.0.0.1:8000", "assertion": true}.
import { createServer } from "node:http";
import { createRemoteJWKSet, jwtVerify } from "jose";

const KEYGATE_URL = new URL(required("KEYGATE_URL")).origin;
const PUBLIC_URL = required("PUBLIC_URL").replace(/\/+$/, ""); // keygate stores origin URLs without a trailing slash
const PORT = Number(process.env.PORT ?? 8000);

// jose caches the keys, and fetches them again when a token names a kid it does not know (after a rotation).
const jwks = createRemoteJWKSet(new URL("/.well-known/jwks.json", KEYGATE_URL));

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required (see the top of examples/verify-assertion.mjs)`);
    process.exit(2);
  }
  return value;
}

/** The verified claims, or null: no header, another signer, expired, for another issuer or another origin. */
async function verifiedClaims(request) {
  const token = request.headers["keygate-assertion"];
  if (typeof token !== "string") return null;
  try {
    const { payload } = await jwtVerify(token, jwks, {
      issuer: KEYGATE_URL,
      audience: PUBLIC_URL,
      algorithms: ["ES256", "EdDSA"],
      requiredClaims: ["sub", "project", "deployment", "jti", "iat", "exp"],
      // keygate's tokens live 60 s; a few seconds of tolerance for the two clocks.
      clockTolerance: 5,
    });
    return payload;
  } catch (err) {
    console.warn(`refused: ${err.code ?? err.name}`);
    return null;
  }
}

createServer(async (request, response) => {
  const claims = await verifiedClaims(request);
  if (claims === null) {
    request.resume();
    response.writeHead(401, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: "requests must come through keygate" }));
    return;
  }
  // Who is calling, as keygate vouches: claims.sub is the key id ("anonymous" with auth off), with project and
  // deployment slugs. A real origin would serve the request here.
  request.resume();
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify({ object: "keygate.assertion", claims, path: request.url }));
}).listen(PORT, () => console.log(`verifying origin on :${PORT}, trusting ${KEYGATE_URL} for ${PUBLIC_URL}`));
