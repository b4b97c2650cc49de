/**
 * One deployment: its endpoints' switches (each endpoint on or off, each with its own API-key auth toggle), its
 * settings, and its API keys tab — the project's keys in a multi-select, where selecting links a key (adds the
 * deployment to its scopes) and deselecting unlinks it. Every switch is one PATCH, so the next data-plane request
 * sees it.
 */
import { Field, Page, type PageProps, Table } from "../layout";

const SCRIPT = String.raw`
await start();
const DEPLOYMENT = document.getElementById("deployment-data").dataset.deployment;
const D = (rest) => P("/deployments/" + encodeURIComponent(DEPLOYMENT) + (rest || ""));
const TOGGLES = [
  ["public-enabled", (d) => d.endpoints.public.enabled, (on) => ({ endpoints: { public: { enabled: on } } })],
  ["public-auth", (d) => d.endpoints.public.auth_enabled, (on) => ({ endpoints: { public: { auth_enabled: on } } })],
  ["private-enabled", (d) => d.endpoints.private.enabled, (on) => ({ endpoints: { private: { enabled: on } } })],
  ["private-auth", (d) => d.endpoints.private.auth_enabled, (on) => ({ endpoints: { private: { auth_enabled: on } } })],
];
let deployment;

function drawDeployment(d) {
  deployment = d;
  for (const [id, read] of TOGGLES) document.getElementById(id).checked = read(d);
  document.getElementById("base-url").textContent = d.url + "/v1";
  document.getElementById("origin-shown").textContent = d.origin.url;
  document.getElementById("header-names").textContent = d.origin.header_names.length ? d.origin.header_names.join(", ") + " (values hidden)" : "none";
  document.getElementById("model-shown").textContent = d.model || "any (not pinned)";
  document.getElementById("paths-shown").textContent = d.allowed_paths.join(", ");
  const form = document.getElementById("edit-deployment");
  form.elements.name.value = d.name;
  form.elements.origin_url.value = d.origin.url;
  form.elements.model.value = d.model || "";
  form.elements.allowed_paths.value = d.allowed_paths.join("\n");
  form.elements.default_max_tokens.value = d.default_max_tokens === null ? "" : d.default_max_tokens;
  form.elements.inject_stream_usage.checked = d.inject_stream_usage;
  form.elements.assertion.checked = d.origin.assertion;
  form.elements.fingerprints.value = (d.endpoints.private.client_cert_fingerprints || []).join("\n");
}

for (const [id, , patch] of TOGGLES) {
  const box = document.getElementById(id);
  box.addEventListener("change", async () => {
    const name = box.labels[0].textContent.trim();
    // Turning an API-key requirement off opens the endpoint to anyone: asked first, like the kill switch.
    if (id.endsWith("-auth") && !box.checked && !(await confirmAction("Turn off API-key auth on the " + id.split("-")[0] + " endpoint of " + DEPLOYMENT + "? From the next request on, anyone who can reach it can call it, with or without a key.", "Turn auth off"))) {
      box.checked = true;
      return;
    }
    box.disabled = true;
    try {
      drawDeployment(await api("PATCH", D(), patch(box.checked)));
      toast(name + ": " + (box.checked ? "on" : "off") + ". The next request sees it.");
    } catch (error) {
      // Refused (the last enabled endpoint, say): the switch shows what the API still holds, and says why.
      box.checked = !box.checked;
      toast(describe(error), "error");
    } finally { box.disabled = READ_ONLY; }
  });
}

const edit = document.getElementById("edit-deployment");
onSubmit(edit, async (data) => {
  const text = textOf(data);
  const patch = {
    name: text("name"),
    model: text("model") || null,
    allowed_paths: lines(data.get("allowed_paths")),
    default_max_tokens: text("default_max_tokens") ? numberOr(text("default_max_tokens")) : null,
    inject_stream_usage: data.get("inject_stream_usage") === "on",
  };
  // The origin only when it changes: a new URL needs the header values again (the API keeps them from going to a
  // host nobody proved knowing them for), and new header values replace the old ones.
  const headers = headerLines(data.get("origin_headers"));
  const assertion = data.get("assertion") === "on";
  if (text("origin_url") !== deployment.origin.url || headers || assertion !== deployment.origin.assertion) {
    patch.origin = { url: text("origin_url"), assertion };
    if (headers) patch.origin.headers = headers;
  }
  // Only a field that changed is sent: a PATCH writes what it names, and must not undo another admin's change.
  const fingerprints = lines(data.get("fingerprints"));
  const stored = deployment.endpoints.private.client_cert_fingerprints || [];
  const canonical = (list) => list.map((f) => f.replaceAll(":", "").toLowerCase()).join("\n");
  if (canonical(fingerprints) !== canonical(stored)) {
    patch.endpoints = { private: { client_cert_fingerprints: fingerprints.length ? fingerprints : null } };
  }
  drawDeployment(await api("PATCH", D(), patch));
  edit.elements.origin_headers.value = "";
  toast("Deployment saved. The next request sees it.");
});

document.getElementById("delete-deployment").addEventListener("click", async () => {
  if (!(await confirmAction("Delete deployment " + DEPLOYMENT + "? It leaves every key's scopes and every policy rule; requests to it get 404 from the next request on.", "Delete deployment"))) return;
  await api("DELETE", D());
  location.assign("/console/projects/" + encodeURIComponent(PROJECT));
});

// The API keys tab: which of the project's keys reach this deployment, and why.
const picker = document.getElementById("linked-keys");
const linkedRows = document.getElementById("linked-rows");
let linked = new Set();

async function loadKeys() {
  const [keys, covering] = await Promise.all([listAll(P("/keys")), listAll(D("/keys"))]);
  const direct = PROJECT + "/" + DEPLOYMENT;
  linked = new Set(covering.filter((k) => k.scopes.includes(direct)).map((k) => k.id));
  const now = Date.now();
  // Only unrevoked standalone keys can be linked: an application key's access comes from its policies.
  const linkable = keys.filter((k) => k.application_id === null && keyStatus(k, now) !== "revoked");
  picker.replaceChildren(...linkable.map((k) => {
    const wholeProject = k.scopes.includes(PROJECT + "/*");
    return el("option", { value: k.id, selected: linked.has(k.id) || wholeProject, disabled: wholeProject && !linked.has(k.id) },
      secretLabel(k) + (wholeProject ? " — whole project" : ""));
  }));
  picker.size = Math.min(10, Math.max(4, linkable.length));
  linkedRows.replaceChildren(...covering.map((k) => el("tr", {},
    el("td", {}, k.name), el("td", { class: "mono" }, k.start + "…"),
    el("td", {}, k.application_id ? "application " + k.application_id : k.scopes.includes(direct) ? "linked" : "whole project (" + PROJECT + "/*)"),
    el("td", {}, el("span", { class: "badge " + keyStatus(k, now) }, keyStatus(k, now))))));
  document.getElementById("linked-empty").hidden = covering.length > 0;
}

onSubmit(document.getElementById("link-form"), async () => {
  const chosen = new Set([...picker.selectedOptions].filter((o) => !o.disabled).map((o) => o.value));
  const toLink = [...chosen].filter((id) => !linked.has(id));
  const toUnlink = [...linked].filter((id) => !chosen.has(id));
  // A plain click in a multi-select deselects the rest: unlinking is said by name, and asked, before it happens.
  if (toUnlink.length) {
    const names = [...picker.options].filter((o) => toUnlink.includes(o.value)).map((o) => o.textContent);
    if (!(await confirmAction("Unlink " + names.join(", ") + " from " + DEPLOYMENT + "? From the next request on, " + (names.length === 1 ? "that key gets" : "those keys get") + " 403 here." + (toLink.length ? " " + toLink.length + " other key(s) will be linked." : ""), "Unlink"))) return loadKeys();
  }
  try {
    for (const id of toLink) await api("PUT", D("/keys/" + encodeURIComponent(id)));
    for (const id of toUnlink) await api("DELETE", D("/keys/" + encodeURIComponent(id)));
    toast(toLink.length || toUnlink.length ? "Linked " + toLink.length + ", unlinked " + toUnlink.length + ". The next request sees it." : "No change.");
  } finally {
    // Also after a failure half-way: the picker shows what the API now holds, not what was asked.
    await loadKeys();
  }
});

drawDeployment(await api("GET", D()));
await loadKeys();
`;

const ENDPOINTS = [
  ["public", "Public endpoint", "Public"],
  ["private", "Private endpoint (service binding or mTLS hostname)", "Private"],
] as const;

export function Deployment(props: Omit<PageProps, "title" | "script" | "children"> & { deployment: string }) {
  return (
    <Page {...props} title={`Deployment ${props.deployment}`} script={SCRIPT} tab="deployments">
      <div id="deployment-data" data-deployment={props.deployment} hidden></div>
      <p>
        Base URL for OpenAI clients: <code id="base-url"></code>
      </p>
      <section class="card" aria-labelledby="endpoints-title">
        <h2 id="endpoints-title">Security: endpoints</h2>
        <div class="grid">
          {ENDPOINTS.map(([id, legend, name]) => (
            <fieldset>
              <legend>{legend}</legend>
              <label class="toggle">
                <input type="checkbox" role="switch" id={`${id}-enabled`} data-write /> {name} endpoint enabled
              </label>
              <label class="toggle">
                <input type="checkbox" role="switch" id={`${id}-auth`} data-write /> {name} endpoint requires an API key
              </label>
            </fieldset>
          ))}
        </div>
      </section>
      <section class="card" aria-labelledby="origin-title">
        <h2 id="origin-title">Origin and model</h2>
        <dl>
          <dt>Origin</dt>
          <dd id="origin-shown" class="mono"></dd>
          <dt>Origin headers</dt>
          <dd id="header-names"></dd>
          <dt>Model</dt>
          <dd id="model-shown"></dd>
          <dt>Allowed paths</dt>
          <dd id="paths-shown" class="mono"></dd>
        </dl>
      </section>
      <section aria-labelledby="keys-title">
        <h2 id="keys-title">API keys</h2>
        <form method="post" id="link-form" class="card" novalidate>
          <p class="form-error" role="alert" hidden></p>
          <Field
            id="linked-keys"
            label="Keys linked to this deployment"
            hint="Ctrl-click (⌘-click) a key to select it (link) or deselect it (unlink), then save; a plain click selects that key alone. Keyboard: Shift or Ctrl with the arrows and Space. A key that covers the whole project stays selected: narrow its scopes on the API keys page."
          >
            <select id="linked-keys" name="keys" multiple data-param="keys"></select>
          </Field>
          <div class="actions">
            <button type="submit" class="primary" data-write>
              Save links
            </button>
          </div>
        </form>
        <Table caption="Keys that reach this deployment now" columns={["Name", "Start", "Through", "Status"]} rows="linked-rows" empty={{ id: "linked-empty", text: "No key reaches this deployment." }} />
      </section>
      <h2>Settings</h2>
      <form method="post" id="edit-deployment" class="card" novalidate>
        <p class="form-error" role="alert" hidden></p>
        <Field id="edit-name" label="Name">
          <input id="edit-name" name="name" data-param="name" autocomplete="off" />
        </Field>
        <Field id="edit-origin-url" label="Origin URL" hint="Without /v1: keygate appends the request's own path (/v1/…). A new URL needs the origin headers again, below.">
          <input id="edit-origin-url" name="origin_url" data-param="origin.url" type="url" autocomplete="off" />
        </Field>
        <Field
          id="edit-origin-headers"
          label="Origin headers (replace)"
          hint="'Name: value', one per line. Empty keeps today's headers (their values are never shown); anything here replaces them all."
        >
          <textarea id="edit-origin-headers" name="origin_headers" data-param="origin.headers" rows={2} autocomplete="off"></textarea>
        </Field>
        <Field id="edit-model" label="Model (empty: not pinned)">
          <input id="edit-model" name="model" data-param="model" autocomplete="off" />
        </Field>
        <Field id="edit-paths" label="Allowed paths" hint="One per line. Empty allows no path at all.">
          <textarea id="edit-paths" name="allowed_paths" data-param="allowed_paths" rows={3}></textarea>
        </Field>
        <Field id="edit-max-tokens" label="Default max tokens (for hard budgets; empty: none)">
          <input id="edit-max-tokens" name="default_max_tokens" data-param="default_max_tokens" inputmode="numeric" autocomplete="off" />
        </Field>
        <label class="toggle">
          <input type="checkbox" name="inject_stream_usage" /> Ask the origin for usage on streams (stream_options.include_usage)
        </label>
        <label class="toggle">
          <input type="checkbox" name="assertion" /> Sign every forwarded request (Keygate-Assertion JWT; needs ASSERTION_SIGNING_KEY)
        </label>
        <Field
          id="edit-fingerprints"
          label="Private endpoint: client certificate fingerprints (mTLS hostname)"
          hint="SHA-256 fingerprints, one per line; empty accepts any certificate Cloudflare verified."
        >
          <textarea id="edit-fingerprints" name="fingerprints" data-param="endpoints.private.client_cert_fingerprints" rows={2}></textarea>
        </Field>
        <div class="actions">
          <button type="submit" class="primary" data-write>
            Save
          </button>
          <button type="button" id="delete-deployment" class="danger" data-write>
            Delete deployment…
          </button>
        </div>
      </form>
    </Page>
  );
}
