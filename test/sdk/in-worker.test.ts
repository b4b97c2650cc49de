// The SDK needs fetch alone: here ManagementClient runs inside workerd, as it would in a Worker, its requests going to
// keygate through a service binding's fetch (the test's `exports.default`, the Worker under test) instead of the
// network. It imports management.ts rather than the package's index: index.ts also exports DataClient, whose
// optional `openai` types pull in Node's, which clash with the Workers types this program is checked with.
import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";
import { KeygateError } from "../../sdk/errors.ts";
import { ManagementClient } from "../../sdk/management.ts";
import { ADMIN_TOKEN, BASE, uniqueSlug } from "../helpers";

/** A calling Worker's env, as its code types it: an interface, with the service binding next to the variables. */
interface CallerEnv {
  KEYGATE: Fetcher;
  KEYGATE_BASE_URL: string;
  KEYGATE_TOKEN: string;
}

/** What the docs show a Worker doing: settings from its env, requests through the binding's fetch. */
const client = (token = ADMIN_TOKEN) => {
  const callerEnv: CallerEnv = { KEYGATE: exports.default, KEYGATE_BASE_URL: BASE, KEYGATE_TOKEN: token };
  return ManagementClient.fromEnv(callerEnv, { fetch: (input, init) => callerEnv.KEYGATE.fetch(input, init) });
};

it("creates a project and a key through a service binding's fetch, and reads them back", async () => {
  const slug = uniqueSlug("sdk-worker");
  const root = client();
  expect(await root.projects.create({ slug, name: "from a Worker" })).toMatchObject({ slug, name: "from a Worker" });

  const kg = root.withProject(slug);
  await kg.deployments.create({ slug: "chat", origin: { url: "https://origin.example.com" } });
  const key = await kg.keys.create({ name: "worker key", scopes: [`${slug}/chat`] });
  expect(key.key).toMatch(/^ik_live_/);

  expect(await kg.keys.get(key.id)).toMatchObject({ id: key.id, name: "worker key", scopes: [`${slug}/chat`] });
  expect((await kg.keys.list().toArray()).map((k) => k.id)).toEqual([key.id]);
  expect((await kg.projects.get()).slug).toBe(slug);
  // The file's first request starts the Worker (seconds on a busy machine), over the 5 s default.
}, 30_000);

it("keygate's errors arrive as KeygateError, with the answer's request id", async () => {
  const error = await client("not-the-admin-token-at-all").projects.list().toArray().catch((err: unknown) => err);
  expect(error).toBeInstanceOf(KeygateError);
  expect(error).toMatchObject({ status: 401, type: "authentication_error", code: "invalid_api_key" });
  expect((error as KeygateError).requestId).toMatch(/^req_[0-9a-f]{32}$/);
});
