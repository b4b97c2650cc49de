/** /admin/v1/projects/{project}/audit — the project's audit log, newest first. */
import * as z from "zod";
import { listAudit, type AuditRow } from "../store/audit";
import { projectFor } from "./guard";
import { Routes } from "./route";
import { listBody, listRoute, ProjectParams } from "./schemas";

export const AuditEvent = z
  .object({
    id: z.string(),
    object: z.literal("audit_event"),
    actor: z.string().meta({ example: "token:tok_01jcz9x7k2m3n4p5q6r7s8t9v0" }),
    action: z.string().meta({ example: "key.revoke" }),
    target: z.string().meta({ example: "key_01jcz9x7k2m3n4p5q6r7s8t9v0" }),
    request_id: z.string(),
    created_at: z.string(),
  })
  .meta({ id: "AuditEvent" });

function eventView(row: AuditRow): z.infer<typeof AuditEvent> {
  return {
    id: row.id,
    object: "audit_event",
    actor: row.actor,
    action: row.action,
    target: row.target,
    request_id: row.request_id,
    created_at: row.created_at,
  };
}

export const audit = new Routes();

audit.add(
  listRoute({
    path: "/projects/{project}/audit",
    params: ProjectParams,
    item: AuditEvent,
    listName: "AuditEventList",
    tags: ["Audit log"],
    summary: "List the project's audit events, newest first",
  }),
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "read");
    const { limit, cursor } = c.req.valid("query");
    const rows = await listAudit(c.env.DB, project.id, cursor ?? null, limit + 1);
    return c.json(listBody(rows, limit, eventView), 200);
  },
);
