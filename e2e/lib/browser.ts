// A real browser for the e2e tests: the distribution's Chromium, driven by playwright-core, which downloads no browser
// of its own (and our machines reach only npm and apt). Pages keep the CSP they are served with, so a test that sees
// no problems() has proven that the page's own scripts run under it.
import { accessSync, constants, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { type Browser, chromium, type Page } from "playwright-core";

/** Where Debian puts its browsers: the headless shell (package chromium-headless-shell) first, the smaller one. */
const CANDIDATES = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium"];

/**
 * Each action (a click, a wait, a navigation) fails after this long rather than at the test's 120 s timeout, so a hung
 * page names the step that hung.
 */
export const ACTION_TIMEOUT_MS = 10_000;

// Playwright already passes most switches that keep Chromium quiet; these are the ones a closed-network machine,
// running as root without a GPU, needs whatever Playwright's defaults become.
const ARGS = [
  "--no-sandbox", // Chromium refuses to start its sandbox as root
  "--disable-gpu",
  "--disable-quic",
  "--no-proxy-server", // the pages are on 127.0.0.1; a proxy from the environment must not see them
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-domain-reliability",
];

/** The browser to run: $KEYGATE_CHROMIUM when set (and it must then exist), else the first of CANDIDATES. */
export function chromiumPath(): string {
  const chosen = process.env.KEYGATE_CHROMIUM;
  if (chosen) {
    if (!executable(chosen)) throw new Error(`KEYGATE_CHROMIUM is ${chosen}, which is not an executable file`);
    return chosen;
  }
  const found = CANDIDATES.find(executable);
  if (found) return found;
  throw new Error(
    `no Chromium for the browser tests: none of ${CANDIDATES.join(", ")} exists. Install Debian's headless one ` +
      "(`apt-get install --no-install-recommends chromium-headless-shell`, or the chromium package), or set " +
      "KEYGATE_CHROMIUM to a Chromium or Chrome executable.",
  );
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Launches headless Chromium; close it with `browser.close()` in afterAll, or its processes outlive the test file. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: ARGS, headless: true, timeout: 60_000 });
}

export interface WatchedPage {
  page: Page;
  /**
   * Everything that went wrong in the page so far, one line each: CSP violations (and any other console error),
   * uncaught exceptions, a crash, and requests to another origin than baseUrl (aborted: the tests run offline).
   */
  problems(): string[];
}

/**
 * A page in a context of its own (no cookies or storage shared with other pages), watched for problems().
 * baseUrl is the origin the page may load from, e.g. keygate.url; relative `page.goto("/admin")` resolve against it.
 */
export async function newPage(browser: Browser, baseUrl: string): Promise<WatchedPage> {
  // No bypassCSP: the console's strict CSP (with its nonce) is part of what is tested.
  const context = await browser.newContext({ baseURL: baseUrl });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  const problems: string[] = [];
  const origin = new URL(baseUrl).origin;

  // Anything from another origin would wait on a network we do not have (or quietly depend on one); fail it at once.
  await context.route(
    (url) => url.origin !== origin,
    async (route) => {
      problems.push(`request to another origin, aborted: ${route.request().method()} ${route.request().url()}`);
      await route.abort("blockedbyclient");
    },
  );

  const page = await context.newPage();
  // Chromium reports a CSP violation on the console, as an error (or a warning for a report-only policy) whose
  // wording changes between versions ("Refused to execute inline script because it violates the following Content
  // Security Policy directive…" before, "Executing inline script violates the following Content Security Policy
  // directive…" in 156): every error is kept, and any other message that names the policy.
  page.on("console", (message) => {
    const text = message.text();
    if (message.type() !== "error" && !/Content Security Policy|Refused to/.test(text)) return;
    const { url, lineNumber } = message.location();
    problems.push(`console.${message.type()}: ${text}${url ? ` (${url}:${lineNumber + 1})` : ""}`);
  });
  page.on("pageerror", (error) => problems.push(`uncaught ${error.name}: ${error.message}`));
  page.on("crash", () => problems.push("the page crashed"));
  return { page, problems: () => [...problems] };
}

/** axe-core's own build, which defines `window.axe` when run as a script. */
let axeSource: string | undefined;

/**
 * Runs axe-core on the page as it is now and returns its serious and critical violations, one readable line each
 * (empty when there are none). Moderate and minor findings are left out: they are worth a look, not a failed test.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  // Evaluated over the DevTools protocol, which the page's CSP does not govern; a <script> tag (addScriptTag) would be
  // refused by a strict script-src, and the test would then measure the harness instead of the page.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const { axe } = window as unknown as { axe: AxeInPage };
    const results = await axe.run(document, { resultTypes: ["violations"] });
    return results.violations.map(({ id, impact, help, nodes }) => ({
      id,
      impact: impact ?? null,
      help,
      targets: nodes.map((node) => JSON.stringify(node.target)),
    }));
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(({ id, impact, help, targets }) => {
      const shown = targets.slice(0, 3).join(", ");
      const more = targets.length > 3 ? ` and ${targets.length - 3} more` : "";
      return `${id} (${impact}): ${help}: ${shown}${more}`;
    });
}

/** The part of axe-core's API used above (its types describe the module, not the page's global). */
interface AxeInPage {
  run(
    context: Document,
    options: { resultTypes: string[] },
  ): Promise<{
    violations: { id: string; impact?: string | null; help: string; nodes: { target: unknown[] }[] }[];
  }>;
}
