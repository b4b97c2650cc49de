// The web console in a real browser (Debian's Chromium, driven by playwright-core), against keygate as `npm start`
// runs it. Each flow drives the pages as an operator would, then checks what the data plane answers to the very next
// request, with Node's fetch, outside the browser. No page may show a CSP violation or an uncaught error, and axe-core
// must find nothing serious or critical on any page.
//
// KEYGATE_SCREENSHOTS=DIR (npm run console:screenshots sets docs/console) saves the screenshots the README shows, taken
// here, of the pages these flows drive.
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeViolations, launchBrowser, newPage, type WatchedPage } from "./lib/browser.ts";
import { type Keygate, startKeygate } from "./lib/keygate.ts";

const SCREENSHOTS = process.env.KEYGATE_SCREENSHOTS;
const PROJECT = "acme";

let keygate: Keygate;
let browser: Browser;
const opened: WatchedPage[] = [];

beforeAll(async () => {
  keygate = await startKeygate();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await keygate?.stop();
});

/** The management API, as curl would call it: for what a flow needs that is not itself under test. */
async function admin(method: string, path: string, body?: unknown, token = keygate.adminToken) {
  const res = await fetch(`${keygate.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** One data-plane request, made after the console's write has been answered. */
async function models(deployment: string, key?: string) {
  const res = await fetch(`${keygate.url}/endpoint/${PROJECT}/${deployment}/v1/models`, {
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });
  return { status: res.status, code: res.ok ? null : ((await res.json()) as any).error.code };
}

/** Polls until the page shows it: each write waits out the authorization lease, so answers take a moment. */
const eventually = <T,>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 10_000 });

async function signedIn(token = keygate.adminToken): Promise<WatchedPage> {
  const watched = await newPage(browser, keygate.url);
  opened.push(watched);
  const { page } = watched;
  await page.goto("/console/sign-in");
  await page.getByLabel("Admin token or management token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/projects/);
  return watched;
}

async function screenshot(page: Page, name: string) {
  if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Waits for the console's answer to its own write, so the next data-plane request starts after it arrived. */
function consoleWrite(page: Page, method: string, path: RegExp) {
  return page.waitForResponse((r) => r.request().method() === method && path.test(new URL(r.url()).pathname));
}

describe("the web console", () => {
  let key: string;
  let keyId: string;
  let batchJob: { id: string; key: string };

  it("1. sign in, create a project, a deployment and a key; the secret is shown once, copied, then gone; it works", async () => {
    const { page } = await signedIn();
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);

    await page.getByLabel("Slug").fill(PROJECT);
    await page.getByLabel("Name (optional)").fill("Acme");
    await page.getByRole("button", { name: "Create project" }).click();
    await page.getByRole("link", { name: PROJECT, exact: true }).click();
    await page.waitForURL(`**/console/projects/${PROJECT}`);

    for (const slug of ["chat", "embed"]) {
      await page.getByLabel("Slug").fill(slug);
      await page.getByLabel("Origin URL").fill(keygate.originUrl);
      await page.getByLabel("Model (optional)").fill("demo-model");
      await page.getByRole("button", { name: "Create deployment" }).click();
      await eventually(() => page.locator("#deployment-rows tr").count()).toBe(slug === "chat" ? 1 : 2);
    }

    await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "API keys" }).click();
    const create = page.locator("#create-key");
    await create.getByLabel("Name", { exact: true }).fill("web-app");
    await create.getByLabel("Deployments", { exact: true }).selectOption("chat");
    await page.getByRole("button", { name: "Create key" }).click();

    const dialog = page.getByRole("dialog", { name: "API key web-app" });
    await eventually(() => dialog.isVisible()).toBe(true);
    key = (await dialog.locator("#secret-value").textContent())!;
    expect(key).toMatch(/^ik_live_/);
    // The snippets use the secret and the deployment's own base URL.
    expect(await dialog.locator("pre").first().textContent()).toContain(`${keygate.url}/endpoint/${PROJECT}/chat/v1/chat/completions`);
    await screenshot(page, "show-once-dialog");

    expect(await axeViolations(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Copy secret" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);

    // Closing asks first: Close stays disabled, and Escape does nothing, until the operator says it is stored.
    expect(await dialog.getByRole("button", { name: "Close" }).isDisabled()).toBe(true);
    // Chromium lets a page refuse only a few close requests in a row: five Escapes, and it is still open.
    for (let i = 0; i < 5; i++) await page.keyboard.press("Escape");
    expect(await dialog.isVisible()).toBe(true);
    expect(await dialog.locator("#secret-value").textContent()).toBe(key);
    await dialog.getByLabel("I have stored this secret somewhere safe").check();
    await dialog.getByRole("button", { name: "Close" }).click();
    await eventually(() => dialog.isVisible()).toBe(false);
    // Focus goes back to the control that opened it.
    await eventually(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Create key");

    // Nowhere in the page, its storage, or the URL.
    expect(await page.content()).not.toContain(key);
    const storage = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
    expect(storage).not.toContain(key);
    expect(page.url()).not.toContain(key);
    await page.reload();
    await eventually(() => page.locator("#key-rows tr").count()).toBe(1);
    expect(await page.content()).not.toContain(key);

    keyId = (await admin("GET", `/projects/${PROJECT}/keys`)).body.data[0].id;
    expect(await models("chat", key)).toEqual({ status: 200, code: null });
  });

  it("2. the deployment's auth toggle, off and on: the next request sees each change", async () => {
    const { page } = await signedIn();
    await page.goto(`/console/projects/${PROJECT}/deployments/chat`);
    const auth = page.getByRole("switch", { name: "Public endpoint requires an API key" });
    await eventually(() => auth.isChecked()).toBe(true);
    expect(await models("chat")).toEqual({ status: 401, code: "missing_api_key" });

    // Turning auth off opens the endpoint to anyone: the console asks first; cancelled, nothing changes.
    await auth.click();
    const confirm = page.getByRole("dialog", { name: "Are you sure?" });
    await confirm.getByRole("button", { name: "Cancel" }).click();
    expect(await auth.isChecked()).toBe(true);
    expect(await models("chat")).toEqual({ status: 401, code: "missing_api_key" });

    let written = consoleWrite(page, "PATCH", /\/deployments\/chat$/);
    await auth.click();
    await confirm.getByRole("button", { name: "Turn auth off" }).click();
    expect((await written).status()).toBe(200);
    expect(await auth.isChecked()).toBe(false);
    expect(await models("chat")).toEqual({ status: 200, code: null });

    written = consoleWrite(page, "PATCH", /\/deployments\/chat$/);
    await auth.check();
    expect((await written).status()).toBe(200);
    expect(await models("chat")).toEqual({ status: 401, code: "missing_api_key" });
    await page.reload();
    await eventually(() => auth.isChecked()).toBe(true);
    await screenshot(page, "deployment");
  });

  it("3. link and unlink a key from the deployment's API keys tab: the next request sees it", async () => {
    const other = await admin("POST", `/projects/${PROJECT}/keys`, { name: "batch-job", scopes: [`${PROJECT}/embed`] });
    expect(other.status).toBe(201);
    expect(await models("chat", other.body.key)).toEqual({ status: 403, code: "scope_insufficient" });

    const { page } = await signedIn();
    await page.goto(`/console/projects/${PROJECT}/deployments/chat`);
    const picker = page.getByLabel("Keys linked to this deployment");
    await eventually(() => picker.locator("option").count()).toBe(2);
    // web-app is linked; batch-job is not.
    expect(await picker.evaluate((s: HTMLSelectElement) => [...s.selectedOptions].map((o) => o.value))).toEqual([keyId]);

    let written = consoleWrite(page, "PUT", new RegExp(`/deployments/chat/keys/${other.body.id}$`));
    await picker.selectOption([keyId, other.body.id]);
    await page.getByRole("button", { name: "Save links" }).click();
    expect((await written).status()).toBe(200);
    expect(await models("chat", other.body.key)).toEqual({ status: 200, code: null });
    await eventually(() => page.locator("#linked-rows tr").count()).toBe(2);

    written = consoleWrite(page, "DELETE", new RegExp(`/deployments/chat/keys/${other.body.id}$`));
    await picker.selectOption([keyId]);
    await page.getByRole("button", { name: "Save links" }).click();
    // Unlinking is said by name and asked first.
    const confirm = page.getByRole("dialog", { name: "Are you sure?" });
    expect(await confirm.textContent()).toContain("batch-job");
    await confirm.getByRole("button", { name: "Unlink" }).click();
    expect((await written).status()).toBe(200);
    expect(await models("chat", other.body.key)).toEqual({ status: 403, code: "scope_insufficient" });
    // Still linked to embed, where it was made.
    expect(await models("embed", other.body.key)).toEqual({ status: 200, code: null });
    batchJob = { id: other.body.id, key: other.body.key };
  });

  it("roll with a grace period: the new secret is shown once, both work during the grace, focus returns to Roll", async () => {
    const { page } = await signedIn();
    await page.goto(`/console/projects/${PROJECT}/keys`);
    const roll = page.getByRole("button", { name: "Roll batch-job" });
    await roll.click();
    const rollDialog = page.getByRole("dialog", { name: "Roll key batch-job" });
    await rollDialog.getByLabel("Grace period").fill("10");
    await rollDialog.getByLabel("Unit").selectOption({ label: "minutes" });
    const written = consoleWrite(page, "POST", new RegExp(`/keys/${batchJob.id}/roll$`));
    await rollDialog.getByRole("button", { name: "Roll key" }).click();
    expect(((await (await written).json()) as any).key).toMatch(/^ik_live_/);

    const secretDialog = page.getByRole("dialog", { name: "New secret for batch-job" });
    await eventually(() => secretDialog.isVisible()).toBe(true);
    const rolled = (await secretDialog.locator("#secret-value").textContent())!;
    expect(rolled).not.toBe(batchJob.key);
    await secretDialog.getByLabel("I have stored this secret somewhere safe").check();
    await secretDialog.getByRole("button", { name: "Close" }).click();
    await eventually(() => secretDialog.isVisible()).toBe(false);
    await eventually(async () => (await page.content()).includes(rolled)).toBe(false);
    await eventually(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe("Roll batch-job");

    expect(await models("embed", rolled)).toEqual({ status: 200, code: null });
    expect(await models("embed", batchJob.key)).toEqual({ status: 200, code: null });
    batchJob.key = rolled;
  });

  it("4. revoke from the list, after a confirm: the next request is 401, and the row says revoked after a reload", async () => {
    const { page } = await signedIn();
    await page.goto(`/console/projects/${PROJECT}/keys`);
    const row = page.locator(`#key-rows tr[data-key-id="${keyId}"]`);
    await row.getByRole("button", { name: "Revoke web-app" }).click();

    const confirm = page.getByRole("dialog", { name: "Are you sure?" });
    expect(await confirm.textContent()).toContain("web-app");
    // Cancel first: nothing happens.
    await confirm.getByRole("button", { name: "Cancel" }).click();
    expect(await models("chat", key)).toEqual({ status: 200, code: null });

    await row.getByRole("button", { name: "Revoke web-app" }).click();
    const written = consoleWrite(page, "DELETE", new RegExp(`/keys/${keyId}$`));
    await confirm.getByRole("button", { name: "Revoke" }).click();
    expect((await written).status()).toBe(200);
    expect(await models("chat", key)).toEqual({ status: 401, code: "invalid_api_key" });

    await page.reload();
    await eventually(() => row.locator(".badge").textContent()).toBe("revoked");
  });

  it("5. a read-only token sees the pages with every write disabled, and says why", async () => {
    const token = await admin("POST", `/projects/${PROJECT}/tokens`, { name: "auditor", role: "read_only" });
    const { page } = await signedIn(token.body.token);
    await page.waitForURL(`**/console/projects/${PROJECT}`);
    await eventually(() => page.locator("#deployment-rows tr").count()).toBe(2);
    expect(await page.locator("#read-only").textContent()).toContain("read-only management token");
    expect(await page.locator("#who").textContent()).toBe("auditor (read_only)");
    expect(await page.getByRole("button", { name: "Create deployment" }).isDisabled()).toBe(true);
    expect(await page.getByRole("switch", { name: "Suspend this project" }).isDisabled()).toBe(true);

    await page.goto(`/console/projects/${PROJECT}/keys`);
    await eventually(() => page.locator("#key-rows tr").count()).toBe(2);
    expect(await page.getByRole("button", { name: "Create key" }).isDisabled()).toBe(true);
    expect(await page.getByRole("button", { name: "Revoke batch-job" }).isDisabled()).toBe(true);

    await page.goto(`/console/projects/${PROJECT}/deployments/chat`);
    await eventually(() => page.locator("#linked-rows tr").count()).toBeGreaterThan(0);
    for (const name of ["Public endpoint requires an API key", "Public endpoint enabled"]) {
      expect(await page.getByRole("switch", { name }).isDisabled()).toBe(true);
    }
    expect(await page.getByRole("button", { name: "Save links" }).isDisabled()).toBe(true);

    // And the API would refuse it anyway, whatever the page allowed.
    const refused = await page.evaluate(async (project) => {
      const res = await fetch(`/admin/v1/projects/${project}/deployments/chat`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${sessionStorage.getItem("keygate.console.token")}`, "content-type": "application/json" },
        body: JSON.stringify({ auth_enabled: false }),
      });
      return { status: res.status, code: ((await res.json()) as any).error.code };
    }, PROJECT);
    expect(refused).toEqual({ status: 403, code: "scope_insufficient" });
    expect(await models("chat")).toEqual({ status: 401, code: "missing_api_key" });

    // The applications page's rule editor (controls cloned from a template) is read-only too.
    await page.goto(`/console/projects/${PROJECT}/applications`);
    await eventually(() => page.locator("#rules select").count()).toBeGreaterThan(0);
    for (const control of await page.locator("#policy-form select, #policy-form input, #policy-form textarea, #add-rule").all()) {
      expect(await control.isDisabled()).toBe(true);
    }

    // Another project's pages, with a token that may write in its own: said at once, and nothing to press.
    const full = await admin("POST", `/projects/${PROJECT}/tokens`, { name: "deployer", role: "full" });
    const other = await signedIn(full.body.token);
    await other.page.goto("/console/projects/someone-else/keys");
    await eventually(() => other.page.locator("#fatal").textContent()).toContain(`belongs to project ${PROJECT}`);
    expect(await other.page.locator("#read-only").isHidden()).toBe(true);
    expect(await other.page.getByRole("button", { name: "Create key" }).isDisabled()).toBe(true);
  });

  it("6. a validation error from the API appears next to the field it is about", async () => {
    const { page } = await signedIn();
    await page.goto(`/console/projects/${PROJECT}/keys`);
    await eventually(() => page.locator("#key-rows tr").count()).toBe(2);
    const create = page.locator("#create-key");
    await create.getByLabel("Name", { exact: true }).fill("bad-conditions");
    await create.getByLabel("Deployments", { exact: true }).selectOption("chat");
    await create.getByLabel("Allowed IP ranges").fill("203.0.113.0/24\nnot-an-address");

    const written = consoleWrite(page, "POST", new RegExp(`/projects/${PROJECT}/keys$`));
    await page.getByRole("button", { name: "Create key" }).click();
    const answer = await written;
    expect(answer.status()).toBe(400);
    const param = ((await answer.json()) as any).error.param as string;
    expect(param).toMatch(/^conditions\.ip_allow/);

    const field = create.getByLabel("Allowed IP ranges");
    const error = page.locator("#c_ip_allow-error");
    await eventually(() => error.isVisible()).toBe(true);
    expect(await error.textContent()).toContain("conditions.ip_allow");
    expect(await field.getAttribute("aria-invalid")).toBe("true");
    // Next to that field, and nowhere else.
    expect(await page.locator(".field-error:visible, .form-error:visible").count()).toBe(1);
    await screenshot(page, "validation-error");
    expect((await admin("GET", `/projects/${PROJECT}/keys`)).body.data.map((k: any) => k.name)).not.toContain("bad-conditions");
  });

  it("a deep link survives sign-in; a suspended project says so on every page", async () => {
    const watched = await newPage(browser, keygate.url);
    opened.push(watched);
    const { page } = watched;
    await page.goto(`/console/projects/${PROJECT}/deployments/chat`);
    await page.waitForURL(/\/console\/sign-in\?next=/);
    // Signed out: nothing to sign out of.
    expect(await page.locator("#sign-out").isHidden()).toBe(true);
    await page.getByLabel("Admin token or management token").fill(keygate.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`**/console/projects/${PROJECT}/deployments/chat`);

    expect((await admin("PATCH", `/projects/${PROJECT}`, { suspended: true })).status).toBe(200);
    await page.reload();
    await eventually(() => page.locator("#suspended-banner").textContent()).toContain("is suspended");
    expect((await admin("PATCH", `/projects/${PROJECT}`, { suspended: false })).status).toBe(200);
    // The banner is decided by the page's read of the project: wait for that read, then look.
    const projectRead = page.waitForResponse((r) => r.request().method() === "GET" && new URL(r.url()).pathname === `/admin/v1/projects/${PROJECT}`);
    await page.reload();
    expect(((await (await projectRead).json()) as any).suspended).toBe(false);
    await eventually(() => page.locator("#linked-rows tr").count()).toBeGreaterThan(0);
    expect(await page.locator("#suspended-banner").isHidden()).toBe(true);
  });

  it("every page, with data on it, has no serious or critical accessibility violation (axe-core)", async () => {
    // Something on every page: an application with a policy, a budget, and a request for the audit log and usage.
    const app = await admin("POST", `/projects/${PROJECT}/applications`, { name: "ci-runner", description: "CI jobs" });
    await admin("POST", `/projects/${PROJECT}/policies`, {
      name: "read-models",
      application_id: app.body.id,
      rules: [{ permission_set: "InferenceReadOnly", deployments: ["*"], conditions: { ip_allow: ["203.0.113.0/24"] } }],
    });
    await admin("POST", `/projects/${PROJECT}/budgets`, { subject: { type: "project", id: PROJECT }, limit_tokens: 1_000_000, period: "month" });
    // Token usage for the chart: the demo origin reports usage on its chat completions.
    const batch = (await admin("GET", `/projects/${PROJECT}/keys`)).body.data.find((k: any) => k.name === "batch-job");
    const rolled = await admin("POST", `/projects/${PROJECT}/keys/${batch.id}/roll`, { grace_seconds: 0 });
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${keygate.url}/endpoint/${PROJECT}/embed/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${rolled.body.key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "demo-model", messages: [{ role: "user", content: `Hello ${i}` }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
    }
    const usage = async () => (await admin("GET", `/projects/${PROJECT}/usage`)).body.data.reduce((n: number, r: any) => n + r.prompt_tokens, 0);
    await expect.poll(usage, { timeout: 60_000, interval: 1000 }).toBeGreaterThan(0);

    const { page } = await signedIn();
    const pages: [path: string, name: string, ready: string][] = [
      ["/console/projects", "projects", "#projects-rows tr"],
      [`/console/projects/${PROJECT}`, "project", "#deployment-rows tr"],
      [`/console/projects/${PROJECT}/deployments/chat`, "deployment", "#linked-rows tr"],
      [`/console/projects/${PROJECT}/keys`, "keys", "#key-rows tr"],
      [`/console/projects/${PROJECT}/applications`, "applications", "#applications-rows tr"],
      [`/console/projects/${PROJECT}/tokens`, "tokens", "#tokens-rows tr"],
      [`/console/projects/${PROJECT}/budgets`, "budgets", "#budgets-rows tr"],
      // A bar in the chart: the tokens counted above.
      [`/console/projects/${PROJECT}/usage`, "usage", "#usage-chart svg rect:has(title)"],
      [`/console/projects/${PROJECT}/audit`, "audit", "#audit-rows tr"],
      [`/console/projects/${PROJECT}/explain`, "explain", "#explain-key option"],
    ];
    const found: string[] = [];
    for (const [path, name, ready] of pages) {
      await page.goto(path);
      await eventually(() => page.locator(ready).count()).toBeGreaterThan(0);
      found.push(...(await axeViolations(page)).map((v) => `${path}: ${v}`));
      if (name !== "deployment") await screenshot(page, name);
    }
    // And signed out: the sign-in page.
    await page.locator("#sign-out").click();
    await page.waitForURL(/\/console\/sign-in/);
    found.push(...(await axeViolations(page)).map((v) => `sign-in: ${v}`));
    await screenshot(page, "sign-in");
    expect(found).toEqual([]);
  });

  it("no page showed a CSP violation, an uncaught error, or a request to another origin", () => {
    // Chromium logs every non-2xx answer to fetch as a console error; the API's refusals that flows 5 and 6 cause on
    // purpose are answers the page shows, not problems.
    const apiAnswer = /^console\.error: Failed to load resource: the server responded with a status of (400|403) .*\/admin\/v1\//;
    expect(opened.flatMap((watched) => watched.problems()).filter((line) => !apiAnswer.test(line))).toEqual([]);
  });
});

describe("the console's pages", () => {
  it("carry a fresh CSP nonce, frame-ancestors 'none' and no-store, and no data", async () => {
    const answers = await Promise.all([1, 2].map(() => fetch(`${keygate.url}/console/projects/${PROJECT}/keys`)));
    const nonces = await Promise.all(
      answers.map(async (res) => {
        expect(res.status).toBe(200);
        expect(res.headers.get("cache-control")).toBe("no-store");
        expect(res.headers.get("x-frame-options")).toBe("DENY");
        const csp = res.headers.get("content-security-policy")!;
        expect(csp).toContain("frame-ancestors 'none'");
        expect(csp).toContain("default-src 'none'");
        expect(csp).not.toContain("unsafe-inline");
        const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
        const html = await res.text();
        // Every script carries it; no key or token appears in a page fetched without a credential.
        expect(html.match(/<script[^>]*>/g)!.every((tag) => tag.includes(`nonce="${nonce}"`))).toBe(true);
        expect(html).not.toMatch(/ik_(live|sdk)_[0-9A-Za-z]{5}/);
        return nonce;
      }),
    );
    expect(nonces[0]).not.toBe(nonces[1]);
  });
});
