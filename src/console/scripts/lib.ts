/**
 * The console's browser code shared by every page: the credential, calls to /admin/v1, and small DOM helpers. It is
 * sent inline (with the response's CSP nonce) ahead of the page's own script, in one module, so a page is one
 * request and loads nothing from anywhere else.
 *
 * Rules it keeps:
 * - The credential lives in sessionStorage (this tab only, gone when it closes) and goes out as a Bearer header, never
 *   as a cookie, so no other site can make the browser send it. Behind Cloudflare Access with no token typed in, the
 *   edge's cookie authenticates, and every write carries `X-Keygate-Console` so the API can refuse one made
 *   cross-site (src/admin/csrf.ts).
 * - Data goes into the page as text (textContent, attributes), never as HTML.
 * - A secret is shown only in the show-once dialog and is removed from the DOM when it closes.
 *
 * It is a String.raw template: a dollar sign followed by a brace would interpolate, so the browser code never writes
 * one (string concatenation instead); CONSOLE_HEADER is the one name interpolated on purpose, shared with the API.
 */
import { CONSOLE_HEADER } from "../../admin/csrf";

export const LIB = String.raw`
const TOKEN_KEY = "keygate.console.token";
/** Set while the page reloads for an Access redirect, so a second one in a row is an error, not a loop. */
const RELOADED_KEY = "keygate.console.reloaded";
const body = document.body;
const PROJECT = body.dataset.project || "";
const ACCESS = body.dataset.access === "1";

function token() { return sessionStorage.getItem(TOKEN_KEY); }
/** Forgets the typed token; behind Access with none, ends the Access session too (Access's own logout page). */
function signOut() {
  const typed = token() !== null;
  sessionStorage.removeItem(TOKEN_KEY);
  location.assign(ACCESS && !typed ? "/cdn-cgi/access/logout" : "/console/sign-in");
}

/** The API's error, as the API sent it: {status, code, param, message, requestId}. */
class ApiError extends Error {
  constructor(status, error, requestId) {
    super(error.message || "The request failed (HTTP " + status + ").");
    this.status = status; this.code = error.code || null; this.param = error.param || null; this.requestId = requestId;
  }
}

/** Calls /admin/v1; an answer that is not 2xx throws ApiError, and a 401 signs out (unless options.keepSignedIn). */
async function api(method, path, payload, options) {
  const headers = { accept: "application/json" };
  const t = token();
  if (t) headers.authorization = "Bearer " + t;
  if (method !== "GET") headers["${CONSOLE_HEADER}"] = "1";
  if (payload !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    // redirect: manual — behind Access an expired session answers with a redirect to the login page on another
    // origin, which fetch may not follow (connect-src 'self'); a page load can, so the page reloads.
    response = await fetch("/admin/v1" + path, { method, headers, body: payload === undefined ? undefined : JSON.stringify(payload), credentials: "same-origin", cache: "no-store", redirect: "manual" });
  } catch {
    throw new ApiError(0, { message: "keygate could not be reached." }, null);
  }
  if (response.type === "opaqueredirect") {
    // Once: if the page itself is not behind the same Access login, a reload would not help, and must not loop.
    if (sessionStorage.getItem(RELOADED_KEY) === null) {
      sessionStorage.setItem(RELOADED_KEY, "1");
      location.reload();
      return new Promise(() => {});
    }
    throw new ApiError(0, { message: "The management API answered with a redirect (a Cloudflare Access login?): reload the page, or sign in again." }, null);
  }
  sessionStorage.removeItem(RELOADED_KEY);
  const requestId = response.headers.get("x-request-id");
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && !(options && options.keepSignedIn)) return unauthorized(data);
    throw new ApiError(response.status, (data && data.error) || {}, requestId);
  }
  return data;
}

/** Where sign-in sends the operator back to: this page (a path of the console only; never another origin). */
function signInUrl(reason) {
  const next = location.pathname.startsWith("/console/") && !location.pathname.startsWith("/console/sign-in") ? location.pathname + location.search : "";
  const query = new URLSearchParams();
  if (reason !== undefined) query.set("reason", reason);
  if (next) query.set("next", next);
  const text = query.toString();
  return "/console/sign-in" + (text ? "?" + text : "");
}

/**
 * A credential the API no longer takes (revoked, expired, never valid): back to sign-in, saying why. The URL carries
 * only the error code; the sign-in page shows its own sentence for it, so a crafted link cannot put words there.
 */
function unauthorized(data) {
  sessionStorage.removeItem(TOKEN_KEY);
  location.assign(signInUrl((data && data.error && data.error.code) || ""));
  return new Promise(() => {});
}

/** Every page of a list (the API's largest page is 100). */
async function listAll(path) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const sep = path.includes("?") ? "&" : "?";
    const result = await api("GET", path + sep + "limit=100" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    out.push(...result.data);
    if (!result.has_more || !result.next_cursor) break;
    cursor = result.next_cursor;
  }
  return out;
}

const P = (rest) => "/projects/" + encodeURIComponent(PROJECT) + (rest || "");

/**
 * Who is signed in: the root admin (ADMIN_TOKEN or Access), or a management token of one project, whose role is
 * read off the project's token list by the token's start. A token whose row cannot be found is treated as read-only.
 */
async function whoami() {
  const t = token();
  if (!t) return ACCESS ? { kind: "root", label: "Cloudflare Access" } : null;
  if (!t.startsWith("ik_sdk_")) return { kind: "root", label: "admin token" };
  const projects = await api("GET", "/projects?limit=1");
  const project = projects.data[0];
  if (!project) return { kind: "token", role: "read_only", project: null, label: "management token" };
  const tokens = await listAll("/projects/" + encodeURIComponent(project.slug) + "/tokens");
  const mine = tokens.filter((row) => row.revoked_at === null && t.startsWith(row.start));
  const role = mine.length > 0 && mine.every((row) => row.role === "full") ? "full" : "read_only";
  return { kind: "token", role, project: project.slug, label: (mine[0] ? mine[0].name : "management token") + " (" + role + ")" };
}

/** Controls marked data-write are disabled for a read-only token, with the reason shown once on the page. */
let READ_ONLY = false;
const READ_ONLY_TITLE = "Read-only token: it can read everything in this project and change nothing.";
function disableWrite(control) {
  control.disabled = true;
  control.setAttribute("aria-disabled", "true");
  control.title = READ_ONLY_TITLE;
}
function applyReadOnly(me) {
  if (!me || me.kind !== "token" || me.role !== "read_only") return;
  READ_ONLY = true;
  for (const control of document.querySelectorAll("[data-write]")) disableWrite(control);
  // A form that writes is disabled whole, fields included: nothing to type into that could not be saved.
  for (const form of document.querySelectorAll("form")) {
    if (form.querySelector("[data-write]")) for (const control of form.elements) disableWrite(control);
  }
  const banner = document.getElementById("read-only");
  banner.textContent = "You are signed in with a read-only management token: you can see everything in project " + me.project + ", and every control that would change something is disabled. The API refuses such writes too (403 scope_insufficient).";
  banner.hidden = false;
}

/** Builds an element: el("td", {class: "x"}, "text", child). Strings become text nodes, never HTML. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
  // A write control drawn after applyReadOnly (a list row's Revoke button) is born disabled.
  if (READ_ONLY && node.hasAttribute("data-write")) disableWrite(node);
  return node;
}

function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toISOString().replace("T", " ").replace(/:\d\d\.\d+Z$/, " UTC");
}

function toast(message, kind) {
  const box = document.getElementById("toast");
  box.className = "toast " + (kind || "ok");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), 6000);
}

/**
 * Shows an API error on a form: next to the field its param names (the longest data-param that is a prefix of it,
 * so "conditions.ip_allow[1]" finds the IP allow-list field), else at the top of the form.
 */
function showError(form, error) {
  clearErrors(form);
  const param = error.param || "";
  let best = null;
  for (const field of form.querySelectorAll("[data-param]")) {
    const name = field.dataset.param;
    if ((param === name || param.startsWith(name + ".") || param.startsWith(name + "[")) && (!best || name.length > best.dataset.param.length)) best = field;
  }
  const text = describe(error);
  const slot = best ? best.closest(".field").querySelector(".field-error") : form.querySelector(".form-error");
  if (!slot) return toast(text, "error");
  slot.textContent = text;
  slot.hidden = false;
  if (best) { best.setAttribute("aria-invalid", "true"); best.focus(); }
}

function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field-error, .form-error")) { slot.textContent = ""; slot.hidden = true; }
  for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
}

/** A form's fields as trimmed text: text("name"). */
function textOf(data) { return (name) => String(data.get(name) || "").trim(); }

/** 'Name: value' lines (one header per line: a value may hold commas) as an object; null when there are none. */
function headerLines(value) {
  const headers = {};
  for (const line of lines(value, false)) {
    const colon = line.indexOf(":");
    if (colon < 1) throw new ApiError(400, { message: "Write each header as 'Name: value'.", param: "origin.headers" }, null);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return Object.keys(headers).length ? headers : null;
}

/** A number field's value: a number when it is digits, else the text as typed, for the API to refuse next to it. */
function numberOr(value) { return /^\d+$/.test(value) ? Number(value) : value; }

/**
 * Keeps focus on a list row's control across a redraw: data-focus names it ("roll:key_…"); after run(), the redrawn
 * control with that name gets focus, or the page's heading when the row is gone.
 */
async function keepFocus(name, run) {
  try { await run(); }
  finally {
    const again = name && document.querySelector('[data-focus="' + CSS.escape(name) + '"]');
    (again && !again.disabled ? again : document.querySelector("h1")).focus();
  }
}

/** Runs a form's submit handler with its button busy, and shows what the API refused next to the right field. */
function onSubmit(form, handler) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const buttons = form.querySelectorAll("button[type=submit]");
    for (const b of buttons) b.disabled = true;
    try { await handler(new FormData(form)); }
    catch (error) { if (error instanceof ApiError) showError(form, error); else throw error; }
    finally {
      for (const b of buttons) if (!b.hasAttribute("aria-disabled")) b.disabled = false;
      // A dialog the handler opened (the show-once dialog) could not return focus to the button it disabled, and
      // Chrome may leave it on a control of the closed dialog: back to the button.
      const active = document.activeElement;
      const lost = !active || active === document.body || active.disabled || active.closest("dialog:not([open])");
      if (lost && event.submitter && event.submitter.isConnected) event.submitter.focus();
    }
  });
}

/** A yes/no question in a modal dialog; resolves true for yes. Focus goes back where it was. */
function confirmAction(message, yes) {
  const dialog = document.getElementById("confirm");
  dialog.querySelector(".confirm-text").textContent = message;
  dialog.querySelector(".confirm-yes").textContent = yes || "Confirm";
  const opener = document.activeElement;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === "yes");
    }, { once: true });
  });
}

/** A form's text field as a list: one item per line (or comma, unless an item may hold one); empty items dropped. */
function lines(value, commas = true) { return String(value || "").split(commas ? /[\n,]/ : /\n/).map((s) => s.trim()).filter(Boolean); }

/**
 * The conditions an operator filled in a .conditions fieldset, in the API's shape (an absent field is no
 * restriction); the API validates them and its errors land next to each field.
 */
function conditionsFrom(data, prefix) {
  const out = {};
  const list = (name) => lines(data.get(prefix + name));
  if (list("ip_allow").length) out.ip_allow = list("ip_allow");
  if (list("ip_deny").length) out.ip_deny = list("ip_deny");
  if (list("countries").length) out.countries = list("countries").map((c) => c.toUpperCase());
  if (list("asns").length) out.asns = list("asns").map(numberOr);
  // A user agent holds commas ("KHTML, like Gecko"): one pattern per line.
  const agents = lines(data.get(prefix + "user_agents"), false);
  if (agents.length) out.user_agents = agents;
  const endpoints = data.getAll(prefix + "endpoints");
  if (endpoints.length) out.endpoints = endpoints;
  if (data.get(prefix + "not_before")) out.not_before = instant(data.get(prefix + "not_before"));
  if (data.get(prefix + "not_after")) out.not_after = instant(data.get(prefix + "not_after"));
  return out;
}

/** A datetime-local value (no zone) read as UTC, which is what every time in the console shows. */
function instant(value) { return value ? value + (value.length === 16 ? ":00Z" : "Z") : null; }

/** The other way: a datetime-local value for an RFC 3339 time, in UTC (what instant() reads back). */
function localValue(iso) {
  if (!iso) return "";
  const text = new Date(iso).toISOString();
  return text.endsWith(":00.000Z") ? text.slice(0, 16) : text.slice(0, 19);
}

/** Fills a ConditionsFields group (named prefix + field) inside root from stored conditions: conditionsFrom's inverse. */
function fillConditions(root, prefix, c) {
  c = c || {};
  const set = (name, value) => { root.querySelector("[name='" + prefix + name + "']").value = value; };
  set("ip_allow", (c.ip_allow || []).join("\n"));
  set("ip_deny", (c.ip_deny || []).join("\n"));
  set("countries", (c.countries || []).join(", "));
  set("asns", (c.asns || []).join(", "));
  set("user_agents", (c.user_agents || []).join("\n"));
  for (const box of root.querySelectorAll("[name='" + prefix + "endpoints']")) box.checked = (c.endpoints || []).includes(box.value);
  set("not_before", localValue(c.not_before));
  set("not_after", localValue(c.not_after));
}

function describeConditions(c) {
  if (!c) return "none";
  const parts = [];
  if (c.ip_allow) parts.push("IP " + c.ip_allow.join(", "));
  if (c.ip_deny) parts.push("not IP " + c.ip_deny.join(", "));
  if (c.countries) parts.push("countries " + c.countries.join(", "));
  if (c.asns) parts.push("ASN " + c.asns.join(", "));
  if (c.user_agents) parts.push("UA " + c.user_agents.join(", "));
  if (c.endpoints) parts.push(c.endpoints.join("/") + " endpoint");
  if (c.not_before) parts.push("from " + when(c.not_before));
  if (c.not_after) parts.push("until " + when(c.not_after));
  return parts.length ? parts.join("; ") : "none";
}

/** A key or token as people tell them apart: its name and the start of its secret. */
function secretLabel(k) { return k.name + " (" + k.start + "…)"; }

/** A count as people read it: 1,234,567. */
function fmt(n) { return Number(n).toLocaleString("en-US"); }

function keyStatus(key, now) {
  if (key.revoked_at) return "revoked";
  if (key.expires_at && Date.parse(key.expires_at) <= now) return "expired";
  return "active";
}

document.getElementById("sign-out").addEventListener("click", signOut);
document.getElementById("sign-out").hidden = !token() && !ACCESS;

/**
 * Every page but sign-in starts here: no credential → sign-in; otherwise who is signed in, shown in the header, the
 * read-only rule applied before the page draws (el() applies it to what is drawn later), and, on a project's pages,
 * the suspended banner.
 */
async function start() {
  if (!token() && !ACCESS) { location.assign(signInUrl()); return new Promise(() => {}); }
  const me = await whoami();
  document.getElementById("who").textContent = me.label;
  // Before the page draws anything: its own controls now, and el() disables those it draws later.
  applyReadOnly(me);
  if (me.kind === "token" && PROJECT && me.project !== PROJECT) {
    fatal("This management token belongs to project " + me.project + ": it cannot see project " + PROJECT + ".",
      { href: "/console/projects/" + encodeURIComponent(me.project), text: "Go to " + me.project });
    return new Promise(() => {});
  }
  if (PROJECT) suspendedBanner();
  return me;
}

/** On every page of a suspended project, why its deployments answer 403: the kill switch is on. */
async function suspendedBanner() {
  const project = await api("GET", P()).catch(() => null);
  if (!project || !project.suspended) return;
  const banner = document.getElementById("suspended-banner");
  banner.replaceChildren("Project " + PROJECT + " is suspended: every data-plane request to its deployments gets 403 project_suspended. ",
    el("a", { href: "/console/projects/" + encodeURIComponent(PROJECT) }, "The kill switch is on its Deployments page."));
  banner.hidden = false;
}

function describe(error) {
  return error instanceof ApiError ? error.message + (error.requestId ? " (request " + error.requestId + ")" : "") : "Something went wrong: " + error;
}

/**
 * What stops the page (its first load failed, or it is another project's): said in a banner that stays, and every
 * control that writes is disabled, since the page no longer knows the state it would change.
 */
function fatal(message, link) {
  const banner = document.getElementById("fatal");
  banner.replaceChildren(message, link ? " " : "", link ? el("a", { href: link.href }, link.text) : "");
  banner.hidden = false;
  for (const control of document.querySelectorAll("[data-write]")) control.disabled = true;
}

// A failure in a page's top-level code (its first load) is an "error" event; one in a handler a rejected promise.
window.addEventListener("error", (event) => { if (event.error instanceof ApiError) fatal(describe(event.error)); });
window.addEventListener("unhandledrejection", (event) => toast(describe(event.reason), "error"));
`;
