/** The header filters of both directions, on their own (the forwarding tests drive them through a request). */
import { describe, expect, it } from "vitest";
import { filterDownstream, filterUpstream } from "../../src/gateway/headers";

describe("header filters", () => {
  it("filterUpstream: origin headers win, forwarding prefixes go, Connection-named headers go", () => {
    const client = new Headers({
      connection: "close, X-Secret",
      "x-secret": "1",
      "x-forwarded-proto": "http",
      "x-forwarded-host": "evil.test",
      "cf-ray": "abc",
      "cf-visitor": '{"scheme":"https"}',
      "cf-worker": "evil.test",
      "cdn-loop": "cloudflare",
      host: "keygate.test",
      "content-length": "5",
      "x-tenant": "client",
      "content-type": "application/json",
    });
    const origin = { "x-tenant": "origin", host: "ignored.test", "content-length": "1" };
    filterUpstream(client, origin, "req_1");
    expect(Object.fromEntries(client)).toEqual({
      "content-type": "application/json",
      "x-request-id": "req_1",
      "x-tenant": "origin",
    });
  });

  it("filterDownstream: drops content-length when the body was content-decoded by fetch", () => {
    const origin = new Headers({ "content-encoding": "gzip", "content-length": "42", vary: "accept-encoding" });
    filterDownstream(origin);
    expect(Object.fromEntries(origin)).toEqual({ "content-encoding": "gzip", vary: "accept-encoding" });
  });

  it("filterUpstream: an origin header replaces the client's of the same name, whatever its case", () => {
    const headers = new Headers({ "x-tenant": "client", "content-type": "application/json" });
    filterUpstream(headers, { "X-Tenant": "origin" }, "req_1");
    expect(headers.get("x-tenant")).toBe("origin");
  });

  it("filterDownstream: removes every dropped name, however many there are in a row", () => {
    const headers = new Headers({ "set-cookie": "a=1", nel: "{}", "report-to": "{}", link: "</x>", "content-type": "text/plain" });
    filterDownstream(headers);
    expect([...headers.keys()]).toEqual(["content-type"]);
  });

  it("filterDownstream: an origin's own keygate-revision never reaches the client", () => {
    const headers = new Headers({ "keygate-revision": "999", "content-type": "application/json" });
    filterDownstream(headers);
    expect(headers.has("keygate-revision")).toBe(false);
  });
});
