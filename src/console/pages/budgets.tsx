/**
 * Token budgets: the list with what each has spent and reserved in its period, a form to create one on a key, an
 * application or the project, an edit form for the two fields that may change (limit and mode), and deletion.
 */
import { Field, Page, type PageProps, Table } from "../layout";

const SCRIPT = String.raw`
await start();
const createForm = document.getElementById("budget-form");
const editSection = document.getElementById("budget-edit");
const editForm = document.getElementById("budget-edit-form");
const typeSelect = document.getElementById("budget-subject-type");
const idSelect = document.getElementById("budget-subject-id");
let keys = [], applications = [], budgets = [], editing = null;

const number = (value) => (String(value || "").trim() === "" ? undefined : Number(value));
const PERIODS = { day: "per UTC day", month: "per UTC month", total: "in total (never resets)" };

function subjectName(s) {
  if (s.type === "project") return "Project " + s.id + " (every request)";
  if (s.type === "key") {
    const k = keys.find((key) => key.id === s.id);
    return "Key " + (k ? secretLabel(k) + (k.revoked_at ? ", revoked" : "") : s.id);
  }
  const a = applications.find((app) => app.id === s.id);
  return "Application " + (a ? a.name : s.id);
}

async function load() {
  [keys, applications, budgets] = await Promise.all([listAll(P("/keys")), listAll(P("/applications")), listAll(P("/budgets"))]);
  draw();
  fillSubjects();
}

function draw() {
  document.getElementById("budgets-rows").replaceChildren(...budgets.map((b) => {
    const name = subjectName(b.subject);
    const share = b.limit_tokens > 0 ? " (" + Math.round((b.spent_tokens / b.limit_tokens) * 100) + "%)" : "";
    return el("tr", {},
      el("th", { scope: "row" }, name),
      el("td", { class: "num" }, fmt(b.limit_tokens)),
      el("td", {}, b.period),
      el("td", {}, b.mode),
      el("td", { class: "num" }, fmt(b.spent_tokens) + share),
      el("td", { class: "num" }, fmt(b.reserved_tokens)),
      el("td", {}, b.resets_at ? when(b.resets_at) : "never"),
      el("td", {}, el("div", { class: "row-actions" },
        el("button", { type: "button", "data-write": true, "aria-label": "Edit the " + b.period + " budget on " + name, onclick: () => edit(b) }, "Edit"),
        el("button", { type: "button", class: "danger", "data-write": true, "aria-label": "Delete the " + b.period + " budget on " + name, onclick: () => remove(b) }, "Delete"))));
  }));
  document.getElementById("budgets-empty").hidden = budgets.length > 0;
}

/** The subject choices for the chosen type: live keys, applications, or this project. */
function fillSubjects() {
  const type = typeSelect.value;
  const current = idSelect.value;
  const label = document.querySelector("label[for=budget-subject-id]");
  label.textContent = type === "key" ? "Key" : type === "application" ? "Application" : "Project";
  const options = type === "key"
    ? keys.filter((k) => !k.revoked_at).map((k) => el("option", { value: k.id }, secretLabel(k)))
    : type === "application"
      ? applications.map((a) => el("option", { value: a.id }, a.name))
      : [el("option", { value: PROJECT }, PROJECT)];
  idSelect.replaceChildren(...(options.length ? options : [el("option", { value: "" }, type === "key" ? "No live keys" : "No applications")]));
  if ([...idSelect.options].some((o) => o.value === current)) idSelect.value = current;
}
typeSelect.addEventListener("change", fillSubjects);

onSubmit(createForm, async (data) => {
  const payload = {
    subject: { type: String(data.get("subject_type")), id: String(data.get("subject_id") || "") },
    limit_tokens: number(data.get("limit_tokens")),
    period: String(data.get("period")),
    mode: String(data.get("mode")),
  };
  const created = await api("POST", P("/budgets"), payload);
  createForm.reset();
  fillSubjects();
  toast("Budget created: " + fmt(created.limit_tokens) + " tokens " + PERIODS[created.period] + " on " + subjectName(created.subject) + ".");
  await load();
});

function edit(b) {
  editing = b;
  clearErrors(editForm);
  document.getElementById("budget-edit-title").textContent = "Edit the " + b.period + " budget on " + subjectName(b.subject);
  document.getElementById("budget-edit-limit").value = String(b.limit_tokens);
  document.getElementById("budget-edit-mode").value = b.mode;
  editSection.hidden = false;
  editSection.scrollIntoView({ block: "start" });
  document.getElementById("budget-edit-limit").focus();
}

function closeEdit() { editing = null; editSection.hidden = true; }
document.getElementById("budget-edit-cancel").addEventListener("click", closeEdit);

onSubmit(editForm, async (data) => {
  const updated = await api("PATCH", P("/budgets/" + encodeURIComponent(editing.id)), { limit_tokens: number(data.get("limit_tokens")), mode: String(data.get("mode")) });
  closeEdit();
  toast("Budget saved: " + fmt(updated.limit_tokens) + " tokens, " + updated.mode + ". The next request sees it.");
  await load();
});

async function remove(b) {
  const ok = await confirmAction("Delete the " + b.period + " budget on " + subjectName(b.subject) + "? The next request is no longer counted against it, and what it has spent (" + fmt(b.spent_tokens) + " tokens) is forgotten.", "Delete budget");
  if (!ok) return;
  await api("DELETE", P("/budgets/" + encodeURIComponent(b.id)));
  if (editing && editing.id === b.id) closeEdit();
  toast("Budget deleted.");
  await load();
}

await load();
`;

/** The two fields a budget can change, in the create form and the edit form alike. */
function LimitAndMode(props: { prefix: string }) {
  return (
    <>
      <Field id={`${props.prefix}-limit`} label="Limit (tokens)" hint="0 refuses everything.">
        <input id={`${props.prefix}-limit`} name="limit_tokens" type="number" min="0" step="1" data-param="limit_tokens" required />
      </Field>
      <Field id={`${props.prefix}-mode`} label="Mode">
        <select id={`${props.prefix}-mode`} name="mode" data-param="mode">
          <option value="hard">hard: refuse what would not fit</option>
          <option value="soft">soft: admit while anything is left</option>
        </select>
      </Field>
    </>
  );
}

export function Budgets(props: Omit<PageProps, "title" | "script" | "children">) {
  return (
    <Page {...props} title="Budgets" script={SCRIPT}>
      <p class="muted">
        A budget caps the tokens (prompt + completion + estimated) of the requests it covers, per UTC day, per UTC month or in
        total. A hard budget refuses a request that would not fit (429 insufficient_quota); a soft one admits while anything is
        left, so the last request may take it past its limit.
      </p>
      <Table id="budgets-table" caption="The project's budgets, with what each has spent in its current period" columns={["Subject", "Limit (tokens)", "Period", "Mode", "Spent", "Reserved", "Resets (UTC)", "Actions"]} rows="budgets-rows" empty={{ id: "budgets-empty", text: "No budgets yet." }} />
      <section id="budget-edit" aria-labelledby="budget-edit-title" hidden>
        <h2 id="budget-edit-title">Edit budget</h2>
        <form method="post" id="budget-edit-form" class="card" novalidate aria-labelledby="budget-edit-title">
          <p class="form-error" role="alert" hidden></p>
          <p class="muted">A budget's subject and period never change: delete it and create another instead.</p>
          <LimitAndMode prefix="budget-edit" />
          <div class="actions">
            <button id="budget-edit-submit" type="submit" class="primary" data-write>
              Save budget
            </button>
            <button id="budget-edit-cancel" type="button">
              Cancel
            </button>
          </div>
        </form>
      </section>
      <h2 id="budget-form-title">Create a budget</h2>
      <form method="post" id="budget-form" class="card" novalidate aria-labelledby="budget-form-title">
        <p class="form-error" role="alert" hidden></p>
        <Field id="budget-subject-type" label="Subject type">
          <select id="budget-subject-type" name="subject_type" data-param="subject.type">
            <option value="key">key: one API key's requests</option>
            <option value="application">application: every key of one application</option>
            <option value="project">project: every request to the project's deployments</option>
          </select>
        </Field>
        <Field id="budget-subject-id" label="Key">
          <select id="budget-subject-id" name="subject_id" data-param="subject.id"></select>
        </Field>
        <Field id="budget-period" label="Period">
          <select id="budget-period" name="period" data-param="period">
            <option value="day">day: resets at 00:00 UTC</option>
            <option value="month">month: resets on the 1st, 00:00 UTC</option>
            <option value="total">total: never resets</option>
          </select>
        </Field>
        <LimitAndMode prefix="budget" />
        <div class="actions">
          <button id="budget-submit" type="submit" class="primary" data-write>
            Create budget
          </button>
        </div>
      </form>
    </Page>
  );
}
