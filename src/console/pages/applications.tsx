/**
 * Applications and their policies: the applications list (create, edit, delete), each application's policies, and
 * the policy editor, whose ordered rules each grant one permission set on some deployments under conditions. Rules are
 * drawn from a <template> rendered here (so a rule's conditions are the shared ConditionsFields); each rule keeps the
 * field names it was drawn with (`r0_…`), and its `data-param`s follow its place in the list (`rules[2]…`), so an
 * API error lands next to the field it names after rules were moved.
 */
import { ConditionsFields, Field, Page, type PageProps, PermissionSetOptions, Table } from "../layout";

const SCRIPT = String.raw`
await start();
const appForm = document.getElementById("app-form");
const policyForm = document.getElementById("policy-form");
const rulesList = document.getElementById("rules");
const ruleTemplate = document.getElementById("rule-template");
const appSelect = document.getElementById("policy-application");
let applications = [], policies = [], deployments = [];
let editingApp = null, editingPolicy = null, nextUid = 0;

const plural = (n, one, many) => n + " " + (n === 1 ? one : many);
const deploymentsText = (d) => d.length === 0 ? "no deployment (every one it named was deleted)" : d[0] === "*" ? "all deployments (*)" : d.join(", ");
function ruleText(rule) {
  const c = describeConditions(rule.conditions);
  return rule.permission_set + " on " + deploymentsText(rule.deployments) + (c === "none" ? "" : "; only when " + c);
}

async function load() {
  [applications, policies, deployments] = await Promise.all([listAll(P("/applications")), listAll(P("/policies")), listAll(P("/deployments"))]);
  drawApplications();
  drawPolicies();
  fillApplicationSelect();
  for (const item of rulesList.children) fillDeployments(item, selectedDeployments(item));
}

function drawApplications() {
  document.getElementById("applications-rows").replaceChildren(...applications.map((app) => el("tr", {},
    el("th", { scope: "row" }, app.name),
    el("td", {}, app.description || "—"),
    el("td", {}, el("code", {}, app.id)),
    el("td", {}, String(policies.filter((p) => p.application_id === app.id).length)),
    el("td", {}, when(app.created_at)),
    el("td", {}, el("div", { class: "row-actions" },
      el("button", { type: "button", "data-write": true, "aria-label": "Edit application " + app.name, onclick: () => editApplication(app) }, "Edit"),
      el("button", { type: "button", class: "danger", "data-write": true, "aria-label": "Delete application " + app.name, onclick: () => deleteApplication(app) }, "Delete"))))));
  document.getElementById("applications-empty").hidden = applications.length > 0;
}

function drawPolicies() {
  document.getElementById("policies-by-app").replaceChildren(...applications.map((app) => {
    const mine = policies.filter((p) => p.application_id === app.id);
    const heading = "policies-of-" + app.id;
    return el("section", { class: "app-policies" },
      el("h3", { id: heading }, app.name),
      mine.length === 0
        ? el("p", { class: "muted" }, "No policies: this application's keys can reach nothing yet.")
        : el("table", { "aria-labelledby": heading },
            el("thead", {}, el("tr", {}, ["Policy", "Description", "Rules, in order", "Updated", "Actions"].map((h) => el("th", { scope: "col" }, h)))),
            el("tbody", {}, mine.map((p) => el("tr", {},
              el("th", { scope: "row" }, p.name),
              el("td", {}, p.description || "—"),
              el("td", {}, el("ol", { class: "rule-list" }, p.rules.map((r) => el("li", {}, ruleText(r))))),
              el("td", {}, when(p.updated_at)),
              el("td", {}, el("div", { class: "row-actions" },
                el("button", { type: "button", "data-write": true, "aria-label": "Edit policy " + p.name, onclick: () => editPolicy(p) }, "Edit"),
                el("button", { type: "button", class: "danger", "data-write": true, "aria-label": "Delete policy " + p.name, onclick: () => deletePolicy(p, app) }, "Delete"))))))),
      el("div", { class: "actions" },
        el("button", { type: "button", "data-write": true, onclick: () => newPolicy(app) }, "New policy for " + app.name)));
  }));
  document.getElementById("policies-empty").hidden = applications.length > 0;
}

function fillApplicationSelect() {
  const current = appSelect.value;
  appSelect.replaceChildren(...(applications.length
    ? applications.map((a) => el("option", { value: a.id }, a.name))
    : [el("option", { value: "" }, "No applications yet: create one first")]));
  if (applications.some((a) => a.id === current)) appSelect.value = current;
  else if (editingPolicy) appSelect.value = editingPolicy.application_id;
}

// --- applications ---

function resetAppForm() {
  editingApp = null;
  appForm.reset();
  clearErrors(appForm);
  document.getElementById("app-form-title").textContent = "Create an application";
  document.getElementById("app-submit").textContent = "Create application";
  document.getElementById("app-cancel").hidden = true;
}

function editApplication(app) {
  resetAppForm();
  editingApp = app;
  document.getElementById("app-name").value = app.name;
  document.getElementById("app-description").value = app.description || "";
  document.getElementById("app-form-title").textContent = "Edit application " + app.name;
  document.getElementById("app-submit").textContent = "Save application";
  document.getElementById("app-cancel").hidden = false;
  appForm.scrollIntoView({ block: "start" });
  document.getElementById("app-name").focus();
}

document.getElementById("app-cancel").addEventListener("click", resetAppForm);

onSubmit(appForm, async (data) => {
  const name = String(data.get("name") || "").trim();
  const description = String(data.get("description") || "").trim();
  if (editingApp) {
    await api("PATCH", P("/applications/" + encodeURIComponent(editingApp.id)), { name, description: description || null });
    toast("Application " + name + " saved.");
  } else {
    const payload = { name };
    if (description) payload.description = description;
    await api("POST", P("/applications"), payload);
    toast("Application " + name + " created. Give it a policy, then make keys for it on the API keys tab.");
  }
  resetAppForm();
  await load();
});

async function deleteApplication(app) {
  const count = policies.filter((p) => p.application_id === app.id).length;
  const live = (await listAll(P("/keys?application_id=" + encodeURIComponent(app.id)))).filter((k) => !k.revoked_at).length;
  const ok = await confirmAction("Delete application " + app.name + "? Its " + plural(count, "policy is", "policies are") + " deleted and its " +
    plural(live, "live key is", "live keys are") + " revoked, in the same write: the next request with any of those keys gets 401. Budgets on it are deleted too. This cannot be undone.", "Delete application");
  if (!ok) return;
  await api("DELETE", P("/applications/" + encodeURIComponent(app.id)));
  if (editingApp && editingApp.id === app.id) resetAppForm();
  if (editingPolicy && editingPolicy.application_id === app.id) resetPolicyForm();
  toast("Application " + app.name + " deleted.");
  await load();
}

// --- the policy editor ---

function fillDeployments(item, selected) {
  const select = item.querySelector(".rule-deployments");
  select.replaceChildren(...deployments.map((d) => el("option", { value: d.slug, selected: selected.includes(d.slug) }, d.name && d.name !== d.slug ? d.slug + " (" + d.name + ")" : d.slug)));
  select.size = Math.min(Math.max(deployments.length, 3), 8);
  item.querySelector(".rule-no-deployments").hidden = deployments.length > 0;
}
const selectedDeployments = (item) => [...item.querySelector(".rule-deployments").selectedOptions].map((o) => o.value);

function addRule(rule) {
  const uid = String(nextUid++);
  const item = ruleTemplate.content.firstElementChild.cloneNode(true);
  for (const node of [item, ...item.querySelectorAll("*")]) {
    for (const attr of [...node.attributes]) if (attr.value.includes("__N__")) node.setAttribute(attr.name, attr.value.replaceAll("__N__", uid));
  }
  item.dataset.uid = uid;
  const select = item.querySelector(".rule-deployments");
  const all = item.querySelector(".rule-all");
  all.addEventListener("change", () => { select.disabled = all.checked; });
  item.querySelector(".rule-up").addEventListener("click", () => moveRule(item, -1));
  item.querySelector(".rule-down").addEventListener("click", () => moveRule(item, 1));
  item.querySelector(".rule-remove").addEventListener("click", () => removeRule(item));
  const whole = rule && rule.deployments.length === 1 && rule.deployments[0] === "*";
  fillDeployments(item, rule && !whole ? rule.deployments : []);
  if (rule) {
    item.querySelector(".rule-permission").value = rule.permission_set;
    all.checked = whole;
    select.disabled = whole;
    fillConditions(item, "r" + uid + "_", rule.conditions || {});
  }
  rulesList.append(item);
  renumberRules();
  // Cloned from a template, not built by el(): a read-only token's copy is disabled here.
  if (READ_ONLY) for (const control of item.querySelectorAll("input, select, textarea, button")) disableWrite(control);
  return item;
}

/** Rule numbers, the move buttons, and every data-param's rules[i] follow the rules' order on the page. */
function renumberRules() {
  const items = [...rulesList.children];
  items.forEach((item, i) => {
    const n = String(i + 1);
    item.querySelector(".rule-number").textContent = n;
    for (const node of item.querySelectorAll("[data-param]")) node.dataset.param = node.dataset.param.replace(/^rules\[[^\]]*\]/, "rules[" + i + "]");
    const up = item.querySelector(".rule-up"), down = item.querySelector(".rule-down"), remove = item.querySelector(".rule-remove");
    up.disabled = i === 0;
    down.disabled = i === items.length - 1;
    remove.disabled = items.length === 1;
    up.setAttribute("aria-label", "Move up, rule " + n);
    down.setAttribute("aria-label", "Move down, rule " + n);
    remove.setAttribute("aria-label", "Remove rule " + n);
  });
}

function moveRule(item, delta) {
  const sibling = delta < 0 ? item.previousElementSibling : item.nextElementSibling;
  if (!sibling) return;
  if (delta < 0) sibling.before(item); else sibling.after(item);
  renumberRules();
  const same = item.querySelector(delta < 0 ? ".rule-up" : ".rule-down");
  (same.disabled ? item.querySelector(delta < 0 ? ".rule-down" : ".rule-up") : same).focus();
}

function removeRule(item) {
  const next = item.nextElementSibling || item.previousElementSibling;
  item.remove();
  renumberRules();
  (next ? next.querySelector(".rule-permission") : document.getElementById("add-rule")).focus();
}

document.getElementById("add-rule").addEventListener("click", () => addRule().querySelector(".rule-permission").focus());

function resetPolicyForm(app) {
  editingPolicy = null;
  policyForm.reset();
  clearErrors(policyForm);
  rulesList.replaceChildren();
  nextUid = 0;
  addRule();
  appSelect.disabled = READ_ONLY;
  if (app) appSelect.value = app.id;
  document.getElementById("policy-form-title").textContent = "Create a policy";
  document.getElementById("policy-submit").textContent = "Create policy";
  document.getElementById("policy-cancel").hidden = true;
}

function newPolicy(app) {
  resetPolicyForm(app);
  policyForm.scrollIntoView({ block: "start" });
  document.getElementById("policy-name").focus();
}

function editPolicy(p) {
  resetPolicyForm();
  editingPolicy = p;
  rulesList.replaceChildren();
  nextUid = 0;
  for (const rule of p.rules) addRule(rule);
  if (p.rules.length === 0) addRule();
  document.getElementById("policy-name").value = p.name;
  document.getElementById("policy-description").value = p.description || "";
  appSelect.value = p.application_id;
  appSelect.disabled = true;
  document.getElementById("policy-form-title").textContent = "Edit policy " + p.name;
  document.getElementById("policy-submit").textContent = "Save policy";
  document.getElementById("policy-cancel").hidden = false;
  policyForm.scrollIntoView({ block: "start" });
  document.getElementById("policy-name").focus();
}

document.getElementById("policy-cancel").addEventListener("click", () => resetPolicyForm());

onSubmit(policyForm, async (data) => {
  const name = String(data.get("name") || "").trim();
  const description = String(data.get("description") || "").trim();
  const rules = [...rulesList.children].map((item) => {
    const prefix = "r" + item.dataset.uid + "_";
    const rule = {
      permission_set: data.get(prefix + "permission_set"),
      deployments: item.querySelector(".rule-all").checked ? ["*"] : data.getAll(prefix + "deployments"),
    };
    const conditions = conditionsFrom(data, prefix);
    if (Object.keys(conditions).length) rule.conditions = conditions;
    return rule;
  });
  if (editingPolicy) {
    await api("PATCH", P("/policies/" + encodeURIComponent(editingPolicy.id)), { name, description: description || null, rules });
    toast("Policy " + name + " saved: the application's keys follow it from the next request on.");
  } else {
    const payload = { name, application_id: String(data.get("application_id") || ""), rules };
    if (description) payload.description = description;
    await api("POST", P("/policies"), payload);
    toast("Policy " + name + " created.");
  }
  resetPolicyForm();
  await load();
});

async function deletePolicy(p, app) {
  const ok = await confirmAction("Delete policy " + p.name + " of application " + app.name + "? What it grants ends with the next request: the application's keys keep only what its other policies grant.", "Delete policy");
  if (!ok) return;
  await api("DELETE", P("/policies/" + encodeURIComponent(p.id)));
  if (editingPolicy && editingPolicy.id === p.id) resetPolicyForm();
  toast("Policy " + p.name + " deleted.");
  await load();
}

await load();
resetPolicyForm();
`;

/** One rule of the editor, with placeholders: __N__ is the rule's own number (names, ids), rules[__I__] its place. */
function RuleTemplate() {
  const p = "r__N___";
  return (
    <template id="rule-template">
      <li class="rule-item">
        <fieldset class="field rule" data-param="rules[__I__]">
          <legend>
            Rule <span class="rule-number">1</span>
          </legend>
          <small class="field-error" role="alert" hidden></small>
          <Field id={`${p}permission_set`} label="Permission set">
            <select id={`${p}permission_set`} name={`${p}permission_set`} class="rule-permission" data-param="rules[__I__].permission_set">
              <PermissionSetOptions />
            </select>
          </Field>
          <Field id={`${p}deployments`} label="Deployments" hint="Ctrl-click (⌘-click) to choose several, or tick all deployments.">
            <select
              id={`${p}deployments`}
              name={`${p}deployments`}
              class="rule-deployments"
              multiple
              data-param="rules[__I__].deployments"
              aria-describedby={`${p}deployments-hint`}
            ></select>
            <small class="rule-no-deployments muted" hidden>
              This project has no deployments yet.
            </small>
            <label class="toggle">
              <input type="checkbox" id={`${p}all`} name={`${p}all`} class="rule-all" value="*" /> All deployments (*), including
              ones created later
            </label>
          </Field>
          <ConditionsFields prefix={p} param="rules[__I__].conditions" />
          <div class="actions">
            <button type="button" class="rule-up">
              Move up
            </button>
            <button type="button" class="rule-down">
              Move down
            </button>
            <button type="button" class="rule-remove">
              Remove rule
            </button>
          </div>
        </fieldset>
      </li>
    </template>
  );
}

export function Applications(props: Omit<PageProps, "title" | "script" | "children">) {
  return (
    <Page {...props} title="Applications" script={SCRIPT}>
      <p class="muted">
        An application is a non-human principal: a service, a CI job, a team's backend. Its keys (made on the API keys tab)
        have no scopes of their own: they get what its policies grant, from the next request after a policy changes.
      </p>
      <h2>Applications</h2>
      <Table id="applications-table" caption="The project's applications" columns={["Name", "Description", "ID", "Policies", "Created", "Actions"]} rows="applications-rows" empty={{ id: "applications-empty", text: "No applications yet." }} />
      <h2>Policies</h2>
      <p class="muted">
        An application's policies apply in the order they were created, and each policy's rules in order: the first rule
        that covers the deployment, whose permission set allows the request and whose conditions hold, allows it.
      </p>
      <div id="policies-by-app"></div>
      <p id="policies-empty" class="muted" hidden>
        Policies belong to an application: create one first.
      </p>
      <h2 id="app-form-title">Create an application</h2>
      <form method="post" id="app-form" class="card" novalidate aria-labelledby="app-form-title">
        <p class="form-error" role="alert" hidden></p>
        <Field id="app-name" label="Name" hint="Unique in the project.">
          <input id="app-name" name="name" data-param="name" required autocomplete="off" />
        </Field>
        <Field id="app-description" label="Description (optional)">
          <textarea id="app-description" name="description" data-param="description" rows={2}></textarea>
        </Field>
        <div class="actions">
          <button id="app-submit" type="submit" class="primary" data-write>
            Create application
          </button>
          <button id="app-cancel" type="button" hidden>
            Cancel
          </button>
        </div>
      </form>
      <h2 id="policy-form-title">Create a policy</h2>
      <form method="post" id="policy-form" class="card" novalidate aria-labelledby="policy-form-title">
        <p class="form-error" role="alert" hidden></p>
        <Field id="policy-name" label="Name" hint="Unique in the project.">
          <input id="policy-name" name="name" data-param="name" required autocomplete="off" />
        </Field>
        <Field id="policy-description" label="Description (optional)">
          <textarea id="policy-description" name="description" data-param="description" rows={2}></textarea>
        </Field>
        <Field id="policy-application" label="Application" hint="A policy belongs to one application for good: it cannot move to another.">
          <select id="policy-application" name="application_id" data-param="application_id"></select>
        </Field>
        <fieldset class="field rules-field" data-param="rules">
          <legend>Rules, in order (1 to 50)</legend>
          <small class="field-error" role="alert" hidden></small>
          <ol id="rules" class="rules"></ol>
          <div class="actions">
            <button id="add-rule" type="button">
              Add rule
            </button>
          </div>
        </fieldset>
        <div class="actions">
          <button id="policy-submit" type="submit" class="primary" data-write>
            Create policy
          </button>
          <button id="policy-cancel" type="button" hidden>
            Cancel
          </button>
        </div>
      </form>
      <RuleTemplate />
    </Page>
  );
}
