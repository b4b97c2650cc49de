// Where the SDK's clients take their settings from: the argument, else the KEYGATE_* variable, else the default; an
// empty string is unset. Observed through what a client actually sends (a stub fetch records each request), so the
// table is the clients' behaviour, not settings.ts's internals. Pure: no server.
import { afterEach, describe, expect, it } from "vitest";
import { DataClient, DEFAULT_BASE_URL, KeygateError, ManagementClient } from "../../sdk/index.ts";

interface Sent {
  url: string;
  authorization: string | null;
}

/** A fetch that records what it was asked and answers `body` (an empty list by default). */
function recorder(body: unknown = { object: "list", data: [], has_more: false, next_cursor: null }) {
  const sent: Sent[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    sent.push({ url: request.url, authorization: request.headers.get("authorization") });
    return Response.json(body);
  }) as typeof globalThis.fetch;
  return { sent, fetch };
}

/** The KeygateError `run` throws (synchronously or not). */
async function thrown(run: () => unknown): Promise<KeygateError> {
  let error: unknown;
  try {
    await run();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(KeygateError);
  return error as KeygateError;
}

const ENV = { KEYGATE_BASE_URL: "http://env.test:1", KEYGATE_TOKEN: "env-token", KEYGATE_API_KEY: "ik_live_env", KEYGATE_PROJECT: "env-project" };
const ARG = { baseUrl: "http://arg.test:2", token: "arg-token", apiKey: "ik_live_arg", project: "arg-project" };

type Source = "argument" | "variable" | "default";
/**
 * One row: the option and the variable of the setting under test, each absent, empty ("") or given (any other string,
 * "A" and "V" below, replaced by a real value of that setting), and where the client's value must come from.
 */
interface Row {
  argument?: string;
  variable?: string;
  from: Source;
}
const ROWS: Row[] = [
  { argument: "A", variable: "V", from: "argument" },
  { argument: "A", from: "argument" },
  { argument: "A", variable: "", from: "argument" },
  { variable: "V", from: "variable" },
  { argument: "", variable: "V", from: "variable" },
  { from: "default" },
  { argument: "", from: "default" },
  { variable: "", from: "default" },
  { argument: "", variable: "", from: "default" },
];
const label = (row: Row) =>
  `argument ${JSON.stringify(row.argument) ?? "absent"}, variable ${JSON.stringify(row.variable) ?? "absent"} → ${row.from}`;

/** The argument and variable of a row for one setting, with the other settings given as arguments. */
function inputs(row: Row, setting: keyof typeof ARG, variable: keyof typeof ENV) {
  const value = { argument: `${ARG[setting]}-a`, variable: `${ENV[variable]}-v` };
  const options: Record<string, string | undefined> = { ...ARG, [setting]: row.argument === undefined ? undefined : row.argument && value.argument };
  const env: Record<string, string> = row.variable === undefined ? {} : { [variable]: row.variable && value.variable };
  const expected = row.from === "argument" ? value.argument : row.from === "variable" ? value.variable : undefined;
  return { options, env, expected };
}

/** A row for baseUrl: distinct valid URLs for the argument and the variable, and the default's. */
function baseUrlInputs(row: Row) {
  const baseUrl = row.argument === undefined ? undefined : row.argument && ARG.baseUrl;
  const env: Record<string, string> = row.variable === undefined ? {} : { KEYGATE_BASE_URL: row.variable && ENV.KEYGATE_BASE_URL };
  const expected = { argument: ARG.baseUrl, variable: ENV.KEYGATE_BASE_URL, default: DEFAULT_BASE_URL }[row.from];
  return { baseUrl, env, expected };
}

describe("ManagementClient", () => {
  describe.each(ROWS)("baseUrl: $from", (row) => {
    it(label(row), async () => {
      const { baseUrl, env, expected } = baseUrlInputs(row);
      const { sent, fetch } = recorder();
      const client = new ManagementClient({ token: ARG.token, project: ARG.project, baseUrl, env, fetch });
      expect(client.baseUrl).toBe(expected);
      await client.deployments.list().toArray();
      expect(sent[0]!.url).toBe(`${expected}/admin/v1/projects/arg-project/deployments`);
    });
  });

  describe.each(ROWS)("token: $from", (row) => {
    it(label(row), async () => {
      const { options, env, expected } = inputs(row, "token", "KEYGATE_TOKEN");
      const { sent, fetch } = recorder();
      if (expected === undefined) {
        const error = await thrown(() => new ManagementClient({ ...options, env, fetch }));
        expect(error).toMatchObject({ status: 0, type: "configuration_error", code: "missing_setting", param: "token" });
        expect(error.message).toContain("token");
        expect(error.message).toContain("KEYGATE_TOKEN");
        return;
      }
      await new ManagementClient({ ...options, env, fetch }).projects.list().toArray();
      expect(sent[0]!.authorization).toBe(`Bearer ${expected}`);
    });
  });

  describe.each(ROWS)("project: $from", (row) => {
    it(label(row), async () => {
      const { options, env, expected } = inputs(row, "project", "KEYGATE_PROJECT");
      const { sent, fetch } = recorder();
      const client = new ManagementClient({ ...options, env, fetch });
      if (expected === undefined) {
        // The project is optional until a project-scoped call needs it.
        await client.projects.list().toArray();
        expect(sent[0]!.url).toBe("http://arg.test:2/admin/v1/projects");
        const error = await thrown(() => client.keys.list().toArray());
        expect(error).toMatchObject({ type: "configuration_error", param: "project" });
        expect(error.message).toContain("project");
        expect(error.message).toContain("KEYGATE_PROJECT");
        expect(sent).toHaveLength(1);
        return;
      }
      expect(client.project).toBe(expected);
      await client.keys.list().toArray();
      expect(sent[0]!.url).toBe(`http://arg.test:2/admin/v1/projects/${expected}/keys`);
    });
  });

  it("withProject: the same address and token, another project", async () => {
    const { sent, fetch } = recorder();
    const client = new ManagementClient({ ...ARG, env: {}, fetch });
    await client.withProject("other").keys.list().toArray();
    expect(sent[0]).toEqual({ url: "http://arg.test:2/admin/v1/projects/other/keys", authorization: "Bearer arg-token" });
  });
});

describe("DataClient", () => {
  describe.each(ROWS)("baseUrl: $from", (row) => {
    it(label(row), async () => {
      const { baseUrl, env, expected } = baseUrlInputs(row);
      const { sent, fetch } = recorder();
      const client = new DataClient({ apiKey: ARG.apiKey, project: ARG.project, baseUrl, env, fetch });
      expect(client.baseUrl).toBe(expected);
      await client.fetch("chat", "/v1/models");
      expect(sent[0]!.url).toBe(`${expected}/endpoint/arg-project/chat/v1/models`);
    });
  });

  for (const [setting, variable] of [["apiKey", "KEYGATE_API_KEY"], ["project", "KEYGATE_PROJECT"]] as const) {
    describe.each(ROWS)(`${setting}: $from`, (row) => {
      it(label(row), async () => {
        const { options, env, expected } = inputs(row, setting, variable);
        const { sent, fetch } = recorder();
        if (expected === undefined) {
          // Both are required: a DataClient without them cannot call anything.
          const error = await thrown(() => new DataClient({ ...options, env, fetch }));
          expect(error).toMatchObject({ status: 0, type: "configuration_error", code: "missing_setting", param: setting });
          expect(error.message).toContain(setting);
          expect(error.message).toContain(variable);
          return;
        }
        await new DataClient({ ...options, env, fetch }).fetch("chat", "/v1/models");
        const project = setting === "project" ? expected : ARG.project;
        const apiKey = setting === "apiKey" ? expected : ARG.apiKey;
        expect(sent[0]).toEqual({ url: `http://arg.test:2/endpoint/${project}/chat/v1/models`, authorization: `Bearer ${apiKey}` });
      });
    });
  }

  it("openai(): the official client with the key and the deployment's base URL", async () => {
    const { sent, fetch } = recorder();
    const client = new DataClient({ ...ARG, env: {}, fetch });
    const ai = await client.openai("chat", { maxRetries: 0 });
    await ai.models.list();
    expect(sent[0]).toEqual({ url: "http://arg.test:2/endpoint/arg-project/chat/v1/models", authorization: "Bearer ik_live_arg" });
  });
});

describe("fromEnv(env, options)", () => {
  // A Worker's env: variables and secrets are strings, bindings are objects (never a setting).
  const workerEnv = { ...ENV, DB: { prepare() {} }, KEYGATE: { fetch() {} } };

  it("reads the KEYGATE_* variables of a Worker-like env object", async () => {
    const { sent, fetch } = recorder();
    const kg = ManagementClient.fromEnv(workerEnv, { fetch });
    await kg.keys.list().toArray();
    expect(sent[0]).toEqual({ url: "http://env.test:1/admin/v1/projects/env-project/keys", authorization: "Bearer env-token" });

    const data = DataClient.fromEnv(workerEnv, { fetch });
    await data.fetch("chat", "/v1/models");
    expect(sent[1]).toEqual({ url: "http://env.test:1/endpoint/env-project/chat/v1/models", authorization: "Bearer ik_live_env" });
  });

  it("options still win over the env", async () => {
    const { sent, fetch } = recorder();
    await ManagementClient.fromEnv(workerEnv, { ...ARG, fetch }).keys.list().toArray();
    await DataClient.fromEnv(workerEnv, { ...ARG, fetch }).fetch("chat", "/v1/models");
    expect(sent).toEqual([
      { url: "http://arg.test:2/admin/v1/projects/arg-project/keys", authorization: "Bearer arg-token" },
      { url: "http://arg.test:2/endpoint/arg-project/chat/v1/models", authorization: "Bearer ik_live_arg" },
    ]);
  });

  it("a binding object where a variable was expected counts as unset", async () => {
    const error = await thrown(() => ManagementClient.fromEnv({ KEYGATE_TOKEN: { fetch() {} } }));
    expect(error).toMatchObject({ type: "configuration_error", param: "token" });
  });

  describe("without an env: process.env", () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const name of Object.keys(ENV)) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    });

    it("new ManagementClient() and DataClient.fromEnv() read process.env", async () => {
      Object.assign(process.env, ENV);
      const { sent, fetch } = recorder();
      await new ManagementClient({ fetch }).keys.list().toArray();
      await DataClient.fromEnv(undefined, { fetch }).fetch("chat", "/v1/models");
      expect(sent).toEqual([
        { url: "http://env.test:1/admin/v1/projects/env-project/keys", authorization: "Bearer env-token" },
        { url: "http://env.test:1/endpoint/env-project/chat/v1/models", authorization: "Bearer ik_live_env" },
      ]);
    });
  });
});

describe("an invalid base URL", () => {
  it.each(["not a url", "localhost:8787", "ftp://keygate.example.com", "127.0.0.1:8787"])("%j is a clear error", async (value) => {
    for (const make of [
      () => new ManagementClient({ baseUrl: value, token: "t", env: {} }),
      () => new DataClient({ baseUrl: value, apiKey: "k", project: "p", env: {} }),
      () => new ManagementClient({ token: "t", env: { KEYGATE_BASE_URL: value } }),
    ]) {
      const error = await thrown(make);
      expect(error).toMatchObject({ status: 0, type: "configuration_error", code: "invalid_setting", param: "baseUrl" });
      expect(error.message).toContain("KEYGATE_BASE_URL");
      expect(error.message).toContain(JSON.stringify(value));
    }
  });

  it("a trailing slash is dropped; a path prefix is kept", async () => {
    const { sent, fetch } = recorder();
    const client = new ManagementClient({ baseUrl: "https://gw.example.com/keygate/", token: "t", env: {}, fetch });
    expect(client.baseUrl).toBe("https://gw.example.com/keygate");
    await client.projects.list().toArray();
    expect(sent[0]!.url).toBe("https://gw.example.com/keygate/admin/v1/projects");
  });
});

describe("a credential with a character no header can carry", () => {
  it.each(["ik_sdk_SECRET\nSECOND", "ik_sdk_SECRET SECOND", " ik_sdk_SECRET", "ik_sdk_SECRÉT"])("%j is refused at once, never quoted", async (value) => {
    for (const make of [
      () => new ManagementClient({ token: value, env: {} }),
      () => new ManagementClient({ env: { KEYGATE_TOKEN: value } }),
      () => new DataClient({ apiKey: value, project: "p", env: {} }),
      () => new DataClient({ project: "p", env: { KEYGATE_API_KEY: value } }),
    ]) {
      const error = await thrown(make);
      expect(error).toMatchObject({ status: 0, type: "configuration_error", code: "invalid_setting" });
      expect(error.message).not.toContain("SECRET");
      expect(error.message).toMatch(/KEYGATE_(TOKEN|API_KEY)/);
    }
  });
});
