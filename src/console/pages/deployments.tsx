/**
 * A project's home: its kill switch, its name, its deployments (each with its endpoints' state), and a form to
 * create a deployment. Origin header values are write-only in the API, so the page can only ever show their names.
 */
import { Field, Page, type PageProps, Table } from "../layout";

const SCRIPT = String.raw`
await start();
const rows = document.getElementById("deployment-rows");
const kill = document.getElementById("suspended");
const state = (on) => el("span", { class: "badge " + (on ? "on" : "off") }, on ? "on" : "off");

async function load() {
  const [project, deployments] = await Promise.all([api("GET", P()), listAll(P("/deployments"))]);
  kill.checked = project.suspended;
  document.getElementById("kill-state").textContent = project.suspended
    ? "Suspended: every data-plane request to this project's deployments gets 403 project_suspended."
    : "Active: deployments answer as configured.";
  document.getElementById("project-name").value = project.name;
  rows.replaceChildren(...deployments.map((d) => el("tr", {},
    el("td", {}, el("a", { href: "/console/projects/" + encodeURIComponent(PROJECT) + "/deployments/" + encodeURIComponent(d.slug) }, d.slug), el("div", { class: "muted" }, d.name)),
    el("td", {}, d.model || "—"),
    el("td", { class: "mono" }, d.origin.url),
    el("td", {}, "enabled ", state(d.endpoints.public.enabled), " auth ", state(d.endpoints.public.auth_enabled)),
    el("td", {}, "enabled ", state(d.endpoints.private.enabled), " auth ", state(d.endpoints.private.auth_enabled)),
    el("td", {}, when(d.updated_at)))));
  document.getElementById("deployments-empty").hidden = deployments.length > 0;
}

kill.addEventListener("change", async () => {
  const suspend = kill.checked;
  const ok = await confirmAction(suspend
    ? "Suspend project " + PROJECT + "? From the next request on, every data-plane request to its deployments is refused (403 project_suspended). The management API keeps working."
    : "Resume project " + PROJECT + "? Its deployments answer again from the next request on.", suspend ? "Suspend" : "Resume");
  if (!ok) { kill.checked = !suspend; return; }
  try {
    await api("PATCH", P(), { suspended: suspend });
    toast(suspend ? "Project suspended." : "Project resumed.");
  } finally { await load(); }
});

const rename = document.getElementById("rename-project");
onSubmit(rename, async (data) => {
  await api("PATCH", P(), { name: String(data.get("name")).trim() });
  toast("Project renamed.");
  await load();
});

document.getElementById("delete-project").addEventListener("click", async () => {
  if (!(await confirmAction("Delete project " + PROJECT + "? Its deployments, keys, tokens, applications, policies and budgets are deleted with it. This cannot be undone.", "Delete project"))) return;
  await api("DELETE", P());
  location.assign("/console/projects");
});

const form = document.getElementById("create-deployment");
onSubmit(form, async (data) => {
  const text = textOf(data);
  const origin = { url: text("origin_url") };
  const headers = headerLines(data.get("origin_headers"));
  if (headers) origin.headers = headers;
  const payload = { slug: text("slug"), origin, auth_enabled: data.get("auth_enabled") === "on" };
  if (text("name")) payload.name = text("name");
  if (text("model")) payload.model = text("model");
  if (lines(data.get("allowed_paths")).length) payload.allowed_paths = lines(data.get("allowed_paths"));
  const deployment = await api("POST", P("/deployments"), payload);
  form.reset();
  toast("Deployment " + deployment.slug + " created.");
  await load();
});

await load();
`;

export function Deployments(props: Omit<PageProps, "title" | "script" | "children">) {
  return (
    <Page {...props} title="Deployments" script={SCRIPT}>
      <section class="card" aria-labelledby="kill-title">
        <h2 id="kill-title">Kill switch</h2>
        <label class="toggle">
          <input type="checkbox" role="switch" id="suspended" data-write /> Suspend this project
        </label>
        <p id="kill-state" class="muted" role="status"></p>
      </section>
      <Table caption="This project's deployments" columns={["Deployment", "Model", "Origin", "Public endpoint", "Private endpoint", "Updated"]} rows="deployment-rows" empty={{ id: "deployments-empty", text: "No deployments yet." }} />
      <h2>Create a deployment</h2>
      <form method="post" id="create-deployment" class="card" novalidate>
        <p class="form-error" role="alert" hidden></p>
        <Field id="deployment-slug" label="Slug" hint="Part of the URL: /endpoint/{project}/{slug}/v1/…">
          <input id="deployment-slug" name="slug" data-param="slug" required autocomplete="off" />
        </Field>
        <Field id="deployment-name" label="Name (optional)">
          <input id="deployment-name" name="name" data-param="name" autocomplete="off" />
        </Field>
        <Field id="origin-url" label="Origin URL" hint="The OpenAI-compatible server keygate forwards to, without /v1 (keygate appends the request's /v1/… path), e.g. https://vllm.internal:8000">
          <input id="origin-url" name="origin_url" data-param="origin.url" type="url" required autocomplete="off" />
        </Field>
        <Field
          id="origin-headers"
          label="Origin headers (optional)"
          hint="'Name: value', one per line, sent to the origin on every request. Values are write-only: keygate never shows them again."
        >
          <textarea id="origin-headers" name="origin_headers" data-param="origin.headers" rows={2} autocomplete="off"></textarea>
        </Field>
        <Field id="deployment-model" label="Model (optional)" hint="Pins the request body's model field to this name">
          <input id="deployment-model" name="model" data-param="model" autocomplete="off" />
        </Field>
        <Field id="allowed-paths" label="Allowed paths (optional)" hint="One per line, e.g. /v1/chat/completions; empty: the default set">
          <textarea id="allowed-paths" name="allowed_paths" data-param="allowed_paths" rows={2}></textarea>
        </Field>
        <label class="toggle">
          <input type="checkbox" name="auth_enabled" checked /> Require an API key on the public endpoint
        </label>
        <div class="actions">
          <button type="submit" class="primary" data-write>
            Create deployment
          </button>
        </div>
      </form>
      <h2>Project settings</h2>
      <form method="post" id="rename-project" class="card" novalidate>
        <p class="form-error" role="alert" hidden></p>
        <Field id="project-name" label="Project name">
          <input id="project-name" name="name" data-param="name" autocomplete="off" />
        </Field>
        <div class="actions">
          <button type="submit" data-write>
            Rename
          </button>
          <button type="button" id="delete-project" class="danger" data-write>
            Delete project…
          </button>
        </div>
      </form>
    </Page>
  );
}
