// Host-based URLs through `npm start` (wrangler dev, local D1): with ENDPOINT_HOST_SUFFIX set,
// `{deployment}.{project}.{suffix}` serves what `/endpoint/{project}/{deployment}` does, and the deployment's `url`
// shows the host form. The request goes to wrangler dev's port with the host in the Host header, as a wildcard
// route would deliver it.
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admin, type Keygate, startKeygate } from "./lib/keygate.ts";

const SUFFIX = "ai.keygate.localhost";
let keygate: Keygate;

beforeAll(async () => {
  keygate = await startKeygate({ vars: { ENDPOINT_HOST_SUFFIX: SUFFIX } });
});

afterAll(async () => {
  await keygate?.stop();
});

/** GET with an explicit Host header (fetch cannot set one). */
function get(path: string, host: string, key: string): Promise<{ status: number; body: string }> {
  const url = new URL(keygate.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path, headers: { host, authorization: `Bearer ${key}` } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("host-based URLs through wrangler dev", () => {
  it("serve {deployment}.{project}.{suffix}/v1/… as /endpoint/{project}/{deployment}/v1/…", async () => {
    await admin(keygate, "POST", "/projects", { slug: "acme" });
    const deployment = await admin<{ url: string }>(keygate, "POST", "/projects/acme/deployments", {
      slug: "chat",
      origin: { url: keygate.originUrl },
    });
    // The scheme and port of the management request: what a client of this local keygate can call.
    expect(deployment.url).toBe(`http://chat.acme.${SUFFIX}:${new URL(keygate.url).port}`);
    const { key } = await admin<{ key: string }>(keygate, "POST", "/projects/acme/keys", { name: "k", scopes: ["acme/chat"] });

    const byHost = await get("/v1/models", `chat.acme.${SUFFIX}`, key);
    expect(byHost.status, byHost.body).toBe(200);
    const byPath = await get("/endpoint/acme/chat/v1/models", new URL(keygate.url).host, key);
    expect(byPath.status).toBe(200);
    expect(JSON.parse(byHost.body)).toEqual(JSON.parse(byPath.body));

    const unknown = await get("/v1/models", `nope.acme.${SUFFIX}`, key);
    expect(unknown.status).toBe(404);
  });
});
