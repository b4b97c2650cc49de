// The browser harness (e2e/lib/browser.ts) itself: it finds and launches Chromium, runs axe-core in a served page, and
// notices a script that the page's CSP refused, so a console test that sees no problems() can be believed.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeViolations, launchBrowser, newPage } from "./lib/browser.ts";
import { type Keygate, startKeygate } from "./lib/keygate.ts";

describe("the browser harness", () => {
  let keygate: Keygate;
  let browser: Browser;

  // One after the other: had one failed while the other started, afterAll would not know what to stop.
  beforeAll(async () => {
    keygate = await startKeygate();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await keygate?.stop();
  });

  it("opens a served page, with no problems, and runs axe-core in it", async () => {
    const { page, problems } = await newPage(browser, keygate.url);
    const res = await page.goto("/admin/docs");
    expect(res?.status()).toBe(200);
    expect(await page.title()).toBe("keygate management API");
    expect(await page.locator("h1").textContent()).toBe("keygate management API");

    // The schema blocks scroll sideways: tabindex=0 lets a keyboard reach them (axe's scrollable-region-focusable).
    expect(await axeViolations(page)).toEqual([]);
    expect(problems()).toEqual([]);
  });

  it("records a script the page's CSP refused, and still runs axe-core under that CSP", async () => {
    const { page, problems } = await newPage(browser, keygate.url);
    await page.setContent(
      `<!doctype html><html lang="en"><head><title>blocked</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'none'">
</head><body><main><h1>blocked</h1><script>document.title = "ran"</script></main></body></html>`,
    );
    expect(await page.title()).toBe("blocked");
    const refused = /^console\.error: .*inline script.*Content Security Policy/;
    await expect.poll(problems).toEqual([expect.stringMatching(refused)]);

    // axe-core is evaluated over the DevTools protocol, which script-src does not govern.
    expect(await axeViolations(page)).toEqual([]);
    expect(problems()).toHaveLength(1);
  });

  it("records an uncaught exception and a request to another origin", async () => {
    const { page, problems } = await newPage(browser, keygate.url);
    await page.goto("/admin/docs");
    await page.evaluate(() => {
      setTimeout(() => {
        throw new Error("thrown by the test");
      });
      void fetch("http://192.0.2.1/elsewhere").catch(() => undefined);
    });
    await expect.poll(() => problems().sort()).toEqual([
      expect.stringContaining("console.error: Failed to load resource"),
      "request to another origin, aborted: GET http://192.0.2.1/elsewhere",
      "uncaught Error: thrown by the test",
    ]);
  });
});
