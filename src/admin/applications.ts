/**
 * /admin/v1/projects/{project}/applications — non-human principals (a service, a CI job, a team's backend).
 * Keys made for an application inherit its policies; deleting it deletes its policies and revokes its keys.
 */
import * as z from "zod";
import { newId } from "../secrets/ids";
import {
  deleteApplication,
  getApplication,
  insertApplication,
  listApplications,
  updateApplication,
  type ApplicationRow,
} from "../store/applications";
import type { ProjectRow } from "../store/projects";
import { budgetIdsOfApplication } from "../store/budgets";
import { removeCounters } from "./budgets";
import { isoNow } from "../time";
import { auditContext, orNotFound, projectFor, stillThere, unlessTaken } from "./guard";
import { Routes } from "./route";
import {
  AUTH_ERRORS,
  CONFLICT_ERROR,
  Description,
  IdParam,
  json,
  listBody,
  listRoute,
  Name,
  ProjectParams,
} from "./schemas";

export const Application = z
  .object({
    id: z.string().meta({ example: "app_01jcz9x7k2m3n4p5q6r7s8t9v0" }),
    object: z.literal("application"),
    project: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "Application" });

const CreateApplication = z.strictObject({ name: Name, description: Description.optional() }).meta({ id: "CreateApplication" });
const UpdateApplication = z
  .strictObject({ name: Name.optional(), description: Description.nullable().optional() })
  .meta({ id: "UpdateApplication" });

function applicationView(row: ApplicationRow, projectSlug: string): z.infer<typeof Application> {
  return {
    id: row.id,
    object: "application",
    project: projectSlug,
    name: row.name,
    description: row.description,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

const gone = (id: string) => `No application '${id}' in this project.`;

async function applicationOrThrow(db: D1Database, project: ProjectRow, id: string): Promise<ApplicationRow> {
  return orNotFound(await getApplication(db, project.id, id), gone(id));
}

const taken = (name: string) => `The application name '${name}' is taken in this project.`;
const tags = ["Applications"];
const ApplicationParams = ProjectParams.extend({ application_id: IdParam });
export const applications = new Routes();

applications.add(
  {
    method: "post",
    path: "/projects/{project}/applications",
    tags,
    summary: "Create an application",
    request: { param: ProjectParams, json: CreateApplication },
    responses: { 201: json(Application, "The application."), ...AUTH_ERRORS, ...CONFLICT_ERROR },
  },
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "write");
    const body = c.req.valid("json");
    const now = isoNow();
    const row: ApplicationRow = {
      id: newId("app"),
      project_id: project.id,
      name: body.name,
      description: body.description ?? null,
      created_at: now,
      updated_at: now,
    };
    await unlessTaken(insertApplication(c.env.DB, row, auditContext(c, project.id)), taken(body.name), "name");
    return c.json(applicationView(row, project.slug), 201);
  },
);

applications.add(
  listRoute({
    path: "/projects/{project}/applications",
    params: ProjectParams,
    item: Application,
    listName: "ApplicationList",
    tags,
    summary: "List applications",
  }),
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "read");
    const { limit, cursor } = c.req.valid("query");
    const rows = await listApplications(c.env.DB, project.id, cursor ?? null, limit + 1);
    return c.json(listBody(rows, limit, (row) => applicationView(row, project.slug)), 200);
  },
);

const one = { path: "/projects/{project}/applications/{application_id}", tags, request: { param: ApplicationParams } } as const;

applications.add(
  { ...one, method: "get", summary: "Get an application", responses: { 200: json(Application, "The application."), ...AUTH_ERRORS } },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "read");
    return c.json(applicationView(await applicationOrThrow(c.env.DB, project, params.application_id), project.slug), 200);
  },
);

applications.add(
  {
    ...one,
    method: "patch",
    summary: "Update an application",
    request: { ...one.request, json: UpdateApplication },
    responses: { 200: json(Application, "The application."), ...AUTH_ERRORS, ...CONFLICT_ERROR },
  },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "write");
    const current = await applicationOrThrow(c.env.DB, project, params.application_id);
    const patch = c.req.valid("json");
    const write = updateApplication(c.env.DB, project.id, current.id, patch, isoNow(), auditContext(c, project.id));
    await stillThere(write, gone(current.id), taken(patch.name ?? current.name));
    return c.json(applicationView(await applicationOrThrow(c.env.DB, project, current.id), project.slug), 200);
  },
);

applications.add(
  {
    ...one,
    method: "delete",
    summary: "Delete an application: its policies and budgets are deleted and its keys revoked, from the next request on",
    responses: { 200: json(Application, "The application as it was."), ...AUTH_ERRORS },
  },
  async (c) => {
    const params = c.req.valid("param");
    const project = await projectFor(c, params.project, "write");
    const row = await applicationOrThrow(c.env.DB, project, params.application_id);
    const budgetIds = (await budgetIdsOfApplication(c.env.DB, project.id, row.id)).map((budget) => budget.id);
    await stillThere(deleteApplication(c.env.DB, project.id, row.id, isoNow(), auditContext(c, project.id)), gone(row.id));
    // The budgets on it went with it; their counters go now.
    await removeCounters(c.env, budgetIds);
    return c.json(applicationView(row, project.slug), 200);
  },
);
