/** Projects: the list (a management token sees its own), and a form to create one (the root admin only). */
import { Field, Page, type PageProps, Table } from "../layout";

const SCRIPT = String.raw`
const me = await start();
const rows = document.getElementById("projects-rows");
async function load() {
  const projects = await listAll("/projects");
  rows.replaceChildren(...projects.map((p) => el("tr", {},
    el("td", {}, el("a", { href: "/console/projects/" + encodeURIComponent(p.slug) }, p.slug)),
    el("td", {}, p.name),
    el("td", {}, el("span", { class: "badge " + (p.suspended ? "revoked" : "active") }, p.suspended ? "suspended" : "active")),
    el("td", {}, when(p.created_at)))));
  document.getElementById("projects-empty").hidden = projects.length > 0;
}
const form = document.getElementById("create-project");
if (me.kind !== "root") {
  form.hidden = true;
  document.getElementById("create-note").hidden = false;
}
onSubmit(form, async (data) => {
  const payload = { slug: String(data.get("slug")).trim() };
  if (String(data.get("name")).trim()) payload.name = String(data.get("name")).trim();
  const project = await api("POST", "/projects", payload);
  form.reset();
  toast("Project " + project.slug + " created.");
  await load();
});
await load();
`;

export function Projects(props: Omit<PageProps, "title" | "script" | "children">) {
  return (
    <Page {...props} title="Projects" script={SCRIPT}>
      <Table caption="Every project you can see" columns={["Slug", "Name", "Status", "Created"]} rows="projects-rows" empty={{ id: "projects-empty", text: "No projects yet." }} />
      <h2>Create a project</h2>
      <p id="create-note" class="muted" hidden>
        Only the root admin (the ADMIN_TOKEN, or Cloudflare Access) can create projects.
      </p>
      <form method="post" id="create-project" class="card" novalidate>
        <p class="form-error" role="alert" hidden></p>
        <Field id="project-slug" label="Slug" hint="Lower-case letters, digits and dashes; it is part of every URL.">
          <input id="project-slug" name="slug" data-param="slug" required autocomplete="off" />
        </Field>
        <Field id="project-name" label="Name (optional)">
          <input id="project-name" name="name" data-param="name" autocomplete="off" />
        </Field>
        <div class="actions">
          <button type="submit" class="primary" data-write>
            Create project
          </button>
        </div>
      </form>
    </Page>
  );
}
