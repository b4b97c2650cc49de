/**
 * The console's pages as the Worker serves them (the browser flows are e2e/console.test.ts): the same empty frame for
 * everyone — no tenant data, whatever credential comes with the request — under a CSP whose nonce is new on every
 * response, never cached, never framed.
 */
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, createDeployment, createKey, createProject, withEnv } from "../helpers";

const PAGES = ["", "/keys", "/applications", "/tokens", "/budgets", "/usage", "/audit", "/explain", "/deployments/chat"];

describe("the console's pages", () => {
  it("carry no data, even for a request with the admin token", async () => {
    const project = await createProject();
    const deployment = await createDeployment(project.slug);
    const key = await createKey(project.slug, [`${project.slug}/${deployment.slug}`], { name: "secret-name-xyz" });
    for (const path of PAGES) {
      const res = await call(`/console/projects/${project.slug}${path}`, { token: ADMIN_TOKEN });
      expect(res.status, path).toBe(200);
      const html = await res.text();
      expect(html).not.toContain(key.key.slice(0, 12));
      expect(html).not.toContain("secret-name-xyz");
      expect(html).not.toContain("origin.example.com");
      // The project's slug is the URL's, as data for the scripts: escaped like any attribute.
      expect(html).toContain(`data-project="${project.slug}"`);
    }
  });

  it("answer with a fresh nonce every time, in the CSP and on every script and style", async () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const res = await call("/console/projects");
      const csp = res.headers.get("content-security-policy")!;
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
      expect(csp).toContain(`style-src 'nonce-${nonce}'`);
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(csp).toMatch(/connect-src 'self'/);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      const html = await res.text();
      const tags = html.match(/<(script|style)\b[^>]*>/g)!;
      expect(tags.length).toBeGreaterThanOrEqual(2);
      for (const tag of tags) expect(tag).toContain(`nonce="${nonce}"`);
      nonces.add(nonce);
    }
    expect(nonces.size).toBe(3);
  });

  it("escape a hostile project slug from the URL", async () => {
    const res = await call(`/console/projects/${encodeURIComponent('"><script>alert(1)</script>')}/keys`);
    const html = await res.text();
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&quot;&gt;&lt;script&gt;");
  });

  it("work without a typed token only behind Access: data-access is 1 when Access is configured and its JWT came", async () => {
    const accessEnv = withEnv({ ACCESS_TEAM_DOMAIN: "acme.cloudflareaccess.com", ACCESS_AUD: "aud-tag" });
    const page = async (env: ReturnType<typeof withEnv> | undefined, headers: Record<string, string>) =>
      /data-access="(\d)"/.exec(await (await call("/console/projects", { ...(env ? { env } : {}), headers })).text())![1];
    expect(await page(accessEnv, { "cf-access-jwt-assertion": "a.b.c" })).toBe("1");
    expect(await page(accessEnv, {})).toBe("0");
    // Without Access configured, the header means nothing (anyone can send it).
    expect(await page(undefined, { "cf-access-jwt-assertion": "a.b.c" })).toBe("0");
  });

  it("/console sends the browser to the projects page; an unknown console path is a 404", async () => {
    const root = await call("/console");
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/console/projects");
    const missing = await call("/console/nope");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await missing.text()).toContain("Page not found");
  });
});
