/**
 * A project's API keys: the list with filters (status, deployment, name), create (standalone with scopes and a
 * permission set, or for an application; expiry; conditions), the show-once dialog for the new secret, edit, roll
 * with a grace period, and revoke.
 */
import { ConditionsFields, Field, Page, type PageProps, PermissionSetOptions, Table } from "../layout";
import { SECRET_DIALOG_SCRIPT, SecretDialog } from "../secret-dialog";

const SCRIPT = String.raw`
await start();
const rows = document.getElementById("key-rows");
const filters = document.getElementById("key-filters");
let keys = [], deployments = [], applications = [];

function access(k) {
  if (k.application_id) {
    const app = applications.find((a) => a.id === k.application_id);
    return "application " + (app ? app.name : k.application_id);
  }
  const where = k.scopes.map((s) => (s === PROJECT + "/*" ? "whole project" : s.slice(PROJECT.length + 1))).join(", ");
  return (where || "no deployment yet") + " · " + k.permission_set;
}

function draw() {
  const now = Date.now();
  const status = filters.elements.status.value;
  const deployment = filters.elements.deployment.value;
  const search = filters.elements.search.value.trim().toLowerCase();
  const shown = keys.filter((k) =>
    (status === "all" || keyStatus(k, now) === status) &&
    (!deployment || k.application_id !== null || k.scopes.includes(PROJECT + "/" + deployment) || k.scopes.includes(PROJECT + "/*")) &&
    (!search || k.name.toLowerCase().includes(search) || k.start.toLowerCase().includes(search)));
  rows.replaceChildren(...shown.map((k) => {
    const s = keyStatus(k, now);
    return el("tr", { dataset: { keyId: k.id } },
      el("td", {}, el("strong", {}, k.name), k.description ? el("div", { class: "muted" }, k.description) : null),
      el("td", { class: "mono" }, k.start + "…"),
      el("td", {}, access(k)),
      el("td", {}, describeConditions(k.conditions)),
      el("td", {}, when(k.expires_at)),
      el("td", {}, when(k.last_used_at)),
      el("td", {}, String(k.request_count)),
      el("td", {}, el("span", { class: "badge " + s }, s)),
      el("td", {}, s === "revoked" ? "" : el("div", { class: "actions" },
        el("button", { type: "button", "data-write": true, "data-focus": "edit:" + k.id, "aria-label": "Edit " + k.name, onclick: () => editKey(k) }, "Edit"),
        el("button", { type: "button", "data-write": true, "data-focus": "roll:" + k.id, "aria-label": "Roll " + k.name, onclick: () => rollKey(k) }, "Roll"),
        el("button", { type: "button", class: "danger", "data-write": true, "data-focus": "revoke:" + k.id, "aria-label": "Revoke " + k.name, onclick: () => revokeKey(k) }, "Revoke"))));
  }));
  document.getElementById("keys-count").textContent = shown.length + " of " + keys.length + " keys";
  document.getElementById("keys-empty").hidden = keys.length > 0;
}

async function load() {
  [keys, deployments, applications] = await Promise.all([listAll(P("/keys")), listAll(P("/deployments")), listAll(P("/applications"))]);
  const options = (select, list, first) => {
    const keep = select.value;
    select.replaceChildren(...(first ? [el("option", { value: "" }, first)] : []), ...list.map(([value, label]) => el("option", { value }, label)));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  };
  options(filters.elements.deployment, deployments.map((d) => [d.slug, d.slug]), "any deployment");
  options(document.getElementById("key-scopes"), deployments.map((d) => [d.slug, d.slug + (d.name && d.name !== d.slug ? " — " + d.name : "")]));
  options(document.getElementById("edit-scopes"), deployments.map((d) => [d.slug, d.slug]));
  options(document.getElementById("key-application"), applications.map((a) => [a.id, a.name]), applications.length ? null : "no applications yet");
  draw();
}
filters.addEventListener("input", draw);
filters.addEventListener("submit", (event) => { event.preventDefault(); draw(); });

// Create: standalone (scopes + permission set) or for an application (its policies decide).
const form = document.getElementById("create-key");
const kind = () => form.elements.kind.value;
function drawKind() {
  document.getElementById("standalone-fields").hidden = kind() !== "standalone";
  document.getElementById("application-fields").hidden = kind() !== "application";
}
for (const radio of form.elements.kind) radio.addEventListener("change", drawKind);
drawKind();

function scopesFrom(data, select, whole) {
  if (data.get(whole) === "on") return [PROJECT + "/*"];
  return [...document.getElementById(select).selectedOptions].map((o) => PROJECT + "/" + o.value);
}

onSubmit(form, async (data) => {
  const text = textOf(data);
  const payload = { name: text("name") };
  if (text("description")) payload.description = text("description");
  if (text("expires_at")) payload.expires_at = instant(text("expires_at"));
  if (kind() === "application") payload.application_id = text("application_id");
  else { payload.scopes = scopesFrom(data, "key-scopes", "whole_project"); payload.permission_set = text("permission_set"); }
  // The API takes a key that reaches nothing yet (to link later); the console says so before making one.
  if (payload.scopes && payload.scopes.length === 0 && !(await confirmAction("This key reaches no deployment yet: it will get 403 until you link it (a deployment's API keys tab, or Edit here). Create it anyway?", "Create key"))) return;
  if (payload.expires_at && Date.parse(payload.expires_at) <= Date.now() && !(await confirmAction("This expiry is in the past: the key will be expired at once (401 expired_api_key). Create it anyway?", "Create key"))) return;
  const conditions = conditionsFrom(data, "c_");
  if (Object.keys(conditions).length) payload.conditions = conditions;
  const created = await api("POST", P("/keys"), payload);
  const secret = created.key;
  created.key = undefined;
  form.reset();
  drawKind();
  // The secret first: a list that then fails to reload must not cost the only sight of it.
  await showSecret({ title: "API key " + created.name, secret, snippets: keySnippets(secret, exampleUrl(created), exampleModel(created)) });
  await load();
});

/** The deployment a new key's snippets call: its first scope's, or the project's first. */
function exampleDeployment(k) {
  const slug = (k.scopes.find((s) => !s.endsWith("/*")) || "").slice(PROJECT.length + 1);
  return deployments.find((d) => d.slug === slug) || deployments[0];
}
function exampleUrl(k) { const d = exampleDeployment(k); return d ? d.url : location.origin + "/endpoint/" + PROJECT + "/{deployment}"; }
function exampleModel(k) { const d = exampleDeployment(k); return d ? d.model || d.slug : null; }

// Edit: name, description, expiry, conditions; scopes and permission set for a standalone key.
const editDialog = document.getElementById("edit-dialog");
const editForm = document.getElementById("edit-key");
let editing = null;
function editKey(k) {
  editing = k;
  clearErrors(editForm);
  const f = editForm.elements;
  f.name.value = k.name;
  f.description.value = k.description || "";
  f.expires_at.value = localValue(k.expires_at);
  document.getElementById("edit-standalone").hidden = k.application_id !== null;
  f.whole_project.checked = k.scopes.includes(PROJECT + "/*");
  for (const o of document.getElementById("edit-scopes").options) o.selected = k.scopes.includes(PROJECT + "/" + o.value);
  f.permission_set.value = k.permission_set || "InferenceFullAccess";
  fillConditions(editForm, "e_", k.conditions);
  document.getElementById("edit-title").textContent = "Edit key " + k.name;
  editDialog.showModal();
}
document.getElementById("edit-cancel").addEventListener("click", () => editDialog.close());
onSubmit(editForm, async (data) => {
  const text = textOf(data);
  const patch = { name: text("name"), description: text("description") || null, expires_at: text("expires_at") ? instant(text("expires_at")) : null };
  const conditions = conditionsFrom(data, "e_");
  patch.conditions = Object.keys(conditions).length ? conditions : null;
  if (editing.application_id === null) { patch.scopes = scopesFrom(data, "edit-scopes", "whole_project"); patch.permission_set = text("permission_set"); }
  await api("PATCH", P("/keys/" + encodeURIComponent(editing.id)), patch);
  editDialog.close();
  toast("Key " + patch.name + " saved. The next request sees it.");
  await keepFocus("edit:" + editing.id, load);
});

// Roll: a new secret now; the old one keeps working for the grace period (at most 7 days), never past its expiry.
const rollDialog = document.getElementById("roll-dialog");
const rollForm = document.getElementById("roll-key");
let rolling = null;
function rollKey(k) {
  rolling = k;
  clearErrors(rollForm);
  rollForm.reset();
  document.getElementById("roll-title").textContent = "Roll key " + k.name;
  rollDialog.showModal();
}
document.getElementById("roll-cancel").addEventListener("click", () => rollDialog.close());
onSubmit(rollForm, async (data) => {
  const grace = Math.round(Number(data.get("grace") || 0) * Number(data.get("grace_unit")));
  const rolled = await api("POST", P("/keys/" + encodeURIComponent(rolling.id) + "/roll"), { grace_seconds: grace });
  const secret = rolled.key;
  rollDialog.close();
  await showSecret({ title: "New secret for " + rolled.name, secret, snippets: keySnippets(secret, exampleUrl(rolled), exampleModel(rolled)) });
  await keepFocus("roll:" + rolled.id, load);
});

async function revokeKey(k) {
  if (!(await confirmAction("Revoke key " + secretLabel(k) + "? The very next request with it gets 401. This cannot be undone.", "Revoke"))) return;
  await api("DELETE", P("/keys/" + encodeURIComponent(k.id)));
  toast("Key " + k.name + " revoked.");
  await keepFocus("revoke:" + k.id, load);
}

await load();
`;

function PermissionSet(props: { id: string }) {
  return (
    <Field id={props.id} label="Permission set">
      <select id={props.id} name="permission_set" data-param="permission_set">
        <PermissionSetOptions />
      </select>
    </Field>
  );
}

export function Keys(props: Omit<PageProps, "title" | "script" | "children">) {
  return (
    <Page {...props} title="API keys" script={SECRET_DIALOG_SCRIPT + SCRIPT}>
      <form method="post" id="key-filters" class="filters" role="search" aria-label="Filter keys">
        <Field id="filter-status" label="Status">
          <select id="filter-status" name="status">
            <option value="all">all</option>
            <option value="active">active</option>
            <option value="expired">expired</option>
            <option value="revoked">revoked</option>
          </select>
        </Field>
        <Field id="filter-deployment" label="Deployment">
          <select id="filter-deployment" name="deployment"></select>
        </Field>
        <Field id="filter-search" label="Name or start">
          <input id="filter-search" name="search" type="search" autocomplete="off" />
        </Field>
        <p id="keys-count" class="muted" role="status"></p>
      </form>
      <Table caption="API keys (ik_live_…) of this project" columns={["Name", "Start", "Access", "Conditions", "Expires", "Last used", "Requests", "Status", "Actions"]} rows="key-rows" empty={{ id: "keys-empty", text: "No API keys yet." }} />
      <h2>Create an API key</h2>
      <form method="post" id="create-key" class="card" novalidate>
        <p class="form-error" role="alert" hidden></p>
        <Field id="key-name" label="Name">
          <input id="key-name" name="name" data-param="name" required autocomplete="off" />
        </Field>
        <Field id="key-description" label="Description (optional)">
          <input id="key-description" name="description" data-param="description" autocomplete="off" />
        </Field>
        <Field id="key-expires" label="Expires (UTC, optional)">
          <input id="key-expires" name="expires_at" type="datetime-local" data-param="expires_at" />
        </Field>
        <fieldset class="inline">
          <legend>Access</legend>
          <label>
            <input type="radio" name="kind" value="standalone" checked /> Standalone key: deployments and a permission set
          </label>
          <label>
            <input type="radio" name="kind" value="application" /> For an application: its policies decide
          </label>
        </fieldset>
        <div id="standalone-fields">
          <Field id="key-scopes" label="Deployments" hint="Select one or more (Ctrl/⌘-click), or tick the whole project.">
            <select id="key-scopes" name="scopes" multiple data-param="scopes"></select>
          </Field>
          <label class="toggle">
            <input type="checkbox" name="whole_project" /> The whole project, including deployments created later
          </label>
          <PermissionSet id="key-permission-set" />
        </div>
        <div id="application-fields" hidden>
          <Field id="key-application" label="Application">
            <select id="key-application" name="application_id" data-param="application_id"></select>
          </Field>
        </div>
        <ConditionsFields prefix="c_" param="conditions" />
        <div class="actions">
          <button type="submit" class="primary" data-write>
            Create key
          </button>
        </div>
      </form>
      <SecretDialog />
      <dialog id="edit-dialog" aria-labelledby="edit-title">
        <form method="post" id="edit-key" novalidate>
          <h2 id="edit-title">Edit key</h2>
          <p class="form-error" role="alert" hidden></p>
          <Field id="edit-name" label="Name">
            <input id="edit-name" name="name" data-param="name" autocomplete="off" />
          </Field>
          <Field id="edit-description" label="Description">
            <input id="edit-description" name="description" data-param="description" autocomplete="off" />
          </Field>
          <Field id="edit-expires" label="Expires (UTC; empty: never)">
            <input id="edit-expires" name="expires_at" type="datetime-local" data-param="expires_at" />
          </Field>
          <div id="edit-standalone">
            <Field id="edit-scopes" label="Deployments">
              <select id="edit-scopes" name="scopes" multiple data-param="scopes"></select>
            </Field>
            <label class="toggle">
              <input type="checkbox" name="whole_project" /> The whole project
            </label>
            <PermissionSet id="edit-permission-set" />
          </div>
          <ConditionsFields prefix="e_" param="conditions" />
          <div class="actions">
            <button type="button" id="edit-cancel">
              Cancel
            </button>
            <button type="submit" class="primary">
              Save
            </button>
          </div>
        </form>
      </dialog>
      <dialog id="roll-dialog" aria-labelledby="roll-title">
        <form method="post" id="roll-key" novalidate>
          <h2 id="roll-title">Roll key</h2>
          <p>A new secret is made now. The old one keeps working for the grace period, then stops (never past the key's own expiry).</p>
          <p class="form-error" role="alert" hidden></p>
          <Field id="roll-grace" label="Grace period" hint="How long the old secret keeps working, so clients can switch (at most 7 days). 0 stops it at once: for a secret that leaked.">
            <input id="roll-grace" name="grace" inputmode="numeric" value="10" data-param="grace_seconds" autocomplete="off" />
          </Field>
          <Field id="roll-unit" label="Unit">
            <select id="roll-unit" name="grace_unit">
              <option value="1">seconds</option>
              <option value="60" selected>
                minutes
              </option>
              <option value="3600">hours</option>
              <option value="86400">days</option>
            </select>
          </Field>
          <div class="actions">
            <button type="button" id="roll-cancel">
              Cancel
            </button>
            <button type="submit" class="primary">
              Roll key
            </button>
          </div>
        </form>
      </dialog>
    </Page>
  );
}
