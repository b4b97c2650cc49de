// The README's quick start, run exactly as written (every ```sh block between the quickstart markers, in order)
// against `npm start`, so the README cannot rot. Then Ctrl-C, which must leave nothing running.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admin, type Keygate, portIsFree, readmeScript, ROOT, runReadmeScript, startKeygate } from "./lib/keygate.ts";

/** Parsed JSON, read loosely in assertions (a wrong shape fails the assertion, not the type check). */
type Json = Record<string, any>;

let keygate: Keygate;

beforeAll(async () => {
  keygate = await startKeygate();
});

afterAll(async () => {
  await keygate?.stop();
});

describe("README quick start", () => {
  it("runs as written: project, deployment, key, curl, OpenAI SDK, revoke, 401", async () => {
    const script = readmeScript(readFileSync(join(ROOT, "README.md"), "utf8"), "quickstart");
    const stdout = await runReadmeScript(keygate, script);
    const lines = stdout.split("\n");
    // One JSON object a line (curl -w '\n'); jq's pretty output of the revoke spans lines and is read below.
    const objects = lines.filter((line) => line.startsWith('{"')).map((line) => JSON.parse(line) as Json);

    // the project and the deployment (the key, secret included, is captured by the script, not printed)
    expect(objects).toContainEqual(expect.objectContaining({ object: "project", slug: "demo" }));
    expect(objects).toContainEqual(expect.objectContaining({
      object: "deployment",
      slug: "chat",
      model: "demo-model",
      origin: { url: keygate.originUrl, header_names: [], assertion: false },
      url: `${keygate.url}/endpoint/demo/chat`,
    }));

    // curl: the demo origin's reply, and the model as the deployment rewrote it
    const completion = objects.find((o) => o.object === "chat.completion");
    expect(completion, stdout).toBeDefined();
    expect(completion!.choices[0].message.content).toBe("You said: Hello, keygate");
    expect(completion!.model).toBe("demo-model");

    // the OpenAI SDK example: a normal and a streamed completion, each the demo origin's echo
    expect(stdout).toMatch(/^chat: You said: \S.*$/m);
    expect(stdout).toMatch(/^stream: You said: \S.*$/m);

    // revoke: jq prints {id, revoked_at}
    const revoked = /\{\s*"id": "(key_[^"]+)",\s*"revoked_at": "([^"]+)"\s*\}/.exec(stdout);
    expect(revoked, stdout).not.toBeNull();
    expect(Date.parse(revoked![2]!)).not.toBeNaN();

    // …and the very next call is refused
    const [body, status] = lines.filter(Boolean).slice(-2);
    expect(JSON.parse(body!).error.code).toBe("invalid_api_key");
    expect(status).toBe("HTTP 401");

    // the key the script created is the one it revoked
    const keys = await admin<{ data: Json[] }>(keygate, "GET", "/projects/demo/keys");
    expect(keys.data).toEqual([
      expect.objectContaining({ id: revoked![1], name: "quickstart", scopes: ["demo/chat"] }),
    ]);
    expect(keys.data[0]!.revoked_at).toBe(revoked![2]);
  });

  it("stops on Ctrl-C and leaves nothing running", async () => {
    expect(await portIsFree(keygate.port)).toBe(false);
    expect(await portIsFree(keygate.originPort)).toBe(false);
    // start.mjs and the process group it runs wrangler dev in (wrangler, workerd); only Linux lets us see the group
    if (process.platform === "linux") expect(keygate.leftovers()).toHaveLength(2);

    const { code } = await keygate.stop();
    expect(code, keygate.output().slice(-4000)).toBe(0);
    expect(keygate.output()).toContain("[start] SIGINT: stopping wrangler dev and the demo origin");
    expect(keygate.leftovers()).toEqual([]);
    expect(await portIsFree(keygate.port)).toBe(true);
    expect(await portIsFree(keygate.originPort)).toBe(true);
  });
});
