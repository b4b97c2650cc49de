/**
 * The tenant filter for every route under /projects/{project}: resolves the project and checks that the
 * caller may read it, or write to it. A management token sees its own project only; for any other slug,
 * existing or not, it gets 403 project_scope_mismatch, so a token cannot probe which projects exist.
 */
import type { Context } from "hono";
import type { AppBindings } from "../env";
import { ApiError } from "../errors";
import type { AuditContext } from "../store/audit";
import { StoreError } from "../store/errors";
import { getProjectBySlug, type ProjectRow } from "../store/projects";
import { isoNow } from "../time";

export type Access = "read" | "write";

export async function projectFor(c: Context<AppBindings>, slug: string, access: Access): Promise<ProjectRow> {
  const principal = c.get("principal");
  const project = await getProjectBySlug(c.env.DB, slug);
  if (principal.kind === "token") {
    if (!project || project.id !== principal.projectId) throw new ApiError("project_scope_mismatch");
    if (access === "write" && principal.role === "read_only") {
      throw new ApiError("scope_insufficient", "This management token is read-only.");
    }
  }
  return orNotFound(project, `No project '${slug}'.`);
}

export function requireRoot(c: Context<AppBindings>, what: string): void {
  if (c.get("principal").kind !== "root") throw new ApiError("scope_insufficient", `Only the root admin can ${what}.`);
}

/**
 * Who is writing, for the audit event every store write records. Asking for it marks the request as a write to
 * `projectId`, so its answer reports that project's revision and waits out the authorization lease
 * (src/store/lease.ts) whatever happens after the commit — even a failed re-read that turns the answer into a 503
 * must not let a request that follows it see the old state.
 */
export function auditContext(c: Context<AppBindings>, projectId: string): AuditContext {
  c.set("wrote", projectId);
  return { actor: c.get("principal").actor, requestId: c.get("requestId") };
}

/** The row a lookup found, or 404 with `message` ("No key 'key_…' in this project."). */
export function orNotFound<T>(row: T | null, message: string): T {
  if (row === null) throw new ApiError("not_found", message);
  return row;
}

/**
 * The one answer both revokes give: the row as this request revoked it, or, when the store changed nothing (it was
 * revoked by someone else meanwhile, or earlier), the row as stored now — a 404 from `reread` when it is gone.
 * @param revoke writes the revocation at `at`; true when it changed the row
 */
export async function revokedView<R extends { revoked_at: string | null }>(
  current: R,
  revoke: (at: string) => Promise<boolean>,
  reread: () => Promise<R>,
): Promise<R> {
  const at = isoNow();
  const revokedNow = current.revoked_at === null && (await revoke(at));
  return revokedNow ? { ...current, revoked_at: at } : reread();
}

/** A write whose UNIQUE conflict means the named field is taken: 409 with `message`, naming `param`. */
export async function unlessTaken<T>(write: Promise<T>, message: string, param: string): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (err instanceof StoreError && err.kind === "conflict") throw new ApiError("conflict", message, param, { cause: err });
    throw err;
  }
}

/**
 * A write that reports whether its row was still there: 404 with `message` when it was gone (deleted meanwhile,
 * between the handler's read and its write), and a UNIQUE conflict on `name` as 409 with `taken`.
 */
export async function stillThere(write: Promise<boolean>, message: string, taken?: string): Promise<void> {
  const found = await (taken === undefined ? write : unlessTaken(write, taken, "name"));
  if (!found) throw new ApiError("not_found", message);
}
