/** /admin/v1/projects — tenants. Creating one needs the root admin; a token sees only its own. */
import * as z from "zod";
import { newId } from "../secrets/ids";
import { removeCounters } from "./budgets";
import { budgetIdsOfProject } from "../store/budgets";
import { deleteProject, insertProject, listProjects, updateProject, type ProjectRow } from "../store/projects";
import { isoNow } from "../time";
import { auditContext, projectFor, requireRoot, unlessTaken } from "./guard";
import { Routes } from "./route";
import { AUTH_ERRORS, CONFLICT_ERROR, json, listBody, listRoute, Name, ProjectParams, Slug } from "./schemas";

export const Project = z
  .object({
    id: z.string().meta({ example: "prj_01jcz9x7k2m3n4p5q6r7s8t9v0" }),
    object: z.literal("project"),
    slug: z.string().meta({ example: "acme" }),
    name: z.string(),
    suspended: z.boolean().meta({ description: "The kill switch: every data-plane request to the project's deployments is refused (403 project_suspended)." }),
    created_at: z.string().meta({ format: "date-time" }),
  })
  .meta({ id: "Project" });

export function projectView(row: ProjectRow): z.infer<typeof Project> {
  return {
    id: row.id,
    object: "project",
    slug: row.slug,
    name: row.name,
    suspended: row.suspended === 1,
    created_at: row.created_at,
  };
}

const CreateProject = z.strictObject({ slug: Slug, name: Name.optional() }).meta({ id: "CreateProject" });
const UpdateProject = z.strictObject({ name: Name.optional(), suspended: z.boolean().optional() }).meta({ id: "UpdateProject" });
const tags = ["Projects"];

export const projects = new Routes();

projects.add(
  {
    method: "post",
    path: "/projects",
    tags,
    summary: "Create a project (root admin only)",
    request: { json: CreateProject },
    responses: { 201: json(Project, "The project."), ...AUTH_ERRORS, ...CONFLICT_ERROR },
  },
  async (c) => {
    requireRoot(c, "create projects");
    const body = c.req.valid("json");
    const row: ProjectRow = { id: newId("prj"), slug: body.slug, name: body.name ?? body.slug, suspended: 0, created_at: isoNow() };
    await unlessTaken(insertProject(c.env.DB, row, auditContext(c, row.id)), `The project slug '${body.slug}' is taken.`, "slug");
    return c.json(projectView(row), 201);
  },
);

projects.add(
  listRoute({ path: "/projects", params: z.object({}), item: Project, listName: "ProjectList", tags, summary: "List projects (a management token sees only its own)" }),
  async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const principal = c.get("principal");
    const onlyId = principal.kind === "token" ? principal.projectId : null;
    const rows = await listProjects(c.env.DB, cursor ?? null, limit + 1, onlyId);
    return c.json(listBody(rows, limit, projectView), 200);
  },
);

const projectRoute = { path: "/projects/{project}", tags, request: { param: ProjectParams } } as const;

projects.add(
  {
    ...projectRoute,
    method: "get",
    summary: "Get a project",
    responses: { 200: json(Project, "The project."), ...AUTH_ERRORS },
  },
  async (c) => c.json(projectView(await projectFor(c, c.req.valid("param").project, "read")), 200),
);

projects.add(
  {
    ...projectRoute,
    method: "patch",
    summary: "Rename a project (the slug never changes), or suspend it (the kill switch; resuming needs the root admin)",
    request: { ...projectRoute.request, json: UpdateProject },
    responses: { 200: json(Project, "The project."), ...AUTH_ERRORS },
  },
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "write");
    const { name, suspended } = c.req.valid("json");
    // The kill switch fails safe: a project's own token may pull it, only the operator may push it back (a token
    // that leaked is often why a project was suspended).
    if (suspended === false && project.suspended === 1) requireRoot(c, "resume a suspended project");
    const fields = { name, suspended: suspended === undefined ? undefined : suspended ? 1 : 0 };
    await updateProject(c.env.DB, project, fields, auditContext(c, project.id));
    const next = { ...project, name: name ?? project.name, suspended: fields.suspended ?? project.suspended };
    return c.json(projectView(next), 200);
  },
);

projects.add(
  {
    ...projectRoute,
    method: "delete",
    summary: "Delete a project with its deployments, keys, tokens, budgets and usage",
    responses: { 200: json(Project, "The deleted project."), ...AUTH_ERRORS },
  },
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "write");
    const budgetIds = (await budgetIdsOfProject(c.env.DB, project.id)).map((row) => row.id);
    await deleteProject(c.env.DB, project.id, auditContext(c, project.id));
    // The budgets' rows went with the project; their counters go now.
    await removeCounters(c.env, budgetIds);
    return c.json(projectView(project), 200);
  },
);
