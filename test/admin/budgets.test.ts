/** /admin/v1/projects/{project}/budgets: validation, the object, audit events, and the counter behind each budget. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, createApplication, createKey, createProject, fixture } from "../helpers";

const budgetsOf = (project: string) => `/projects/${project}/budgets`;

describe("budgets admin", () => {
  it("creates, reads, lists, patches and deletes, each write audited", async () => {
    const f = await fixture();
    const created = await admin("POST", budgetsOf(f.project.slug), { subject: { type: "key", id: f.key.id }, limit_tokens: 1000, period: "day" });
    expect(created.status).toBe(201);
    const tomorrow = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1));
    expect(created.body).toEqual({
      id: expect.stringMatching(/^bud_[0-9a-z]{26}$/),
      object: "budget",
      project: f.project.slug,
      subject: { type: "key", id: f.key.id },
      limit_tokens: 1000,
      period: "day",
      mode: "hard",
      spent_tokens: 0,
      reserved_tokens: 0,
      resets_at: tomorrow.toISOString(),
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(created.headers.get("keygate-revision")).not.toBeNull();
    const id = created.body.id as string;
    expect((await admin("GET", `${budgetsOf(f.project.slug)}/${id}`)).body).toEqual(created.body);
    const list = await admin("GET", budgetsOf(f.project.slug));
    expect(list.body).toMatchObject({ object: "list", data: [created.body], has_more: false, next_cursor: null });

    const patched = await admin("PATCH", `${budgetsOf(f.project.slug)}/${id}`, { limit_tokens: 5, mode: "soft" });
    expect(patched.body).toMatchObject({ limit_tokens: 5, mode: "soft" });
    // A PATCH that names nothing writes nothing.
    const audit = async () => (await admin("GET", `/projects/${f.project.slug}/audit?limit=100`)).body.data.map((e: { action: string }) => e.action);
    const before = (await audit()).length;
    expect((await admin("PATCH", `${budgetsOf(f.project.slug)}/${id}`, {})).status).toBe(200);
    expect((await audit()).length).toBe(before);

    const deleted = await admin("DELETE", `${budgetsOf(f.project.slug)}/${id}`);
    expect(deleted.body).toMatchObject({ id, limit_tokens: 5, mode: "soft" });
    expect((await admin("GET", `${budgetsOf(f.project.slug)}/${id}`)).status).toBe(404);
    expect((await admin("DELETE", `${budgetsOf(f.project.slug)}/${id}`)).status).toBe(404);
    expect((await audit()).slice(0, 3)).toEqual(["budget.delete", "budget.update", "budget.create"]);
    // Its counter is gone with it.
    expect((await env.BUDGETS.get(env.BUDGETS.idFromName(id)).state()).configured).toBe(false);
  });

  it("project and application subjects; a project budget names the project by its slug", async () => {
    const project = await createProject();
    const app = await createApplication(project.slug);
    const onApp = await admin("POST", budgetsOf(project.slug), { subject: { type: "application", id: app.id }, limit_tokens: 1, period: "month" });
    expect(onApp.body.subject).toEqual({ type: "application", id: app.id });
    const onProject = await admin("POST", budgetsOf(project.slug), { subject: { type: "project", id: project.slug }, limit_tokens: 1, period: "total" });
    expect(onProject.body).toMatchObject({ subject: { type: "project", id: project.slug }, resets_at: null });
  });

  it("refuses what cannot be a budget, naming the field", async () => {
    const f = await fixture();
    const other = await fixture();
    const bad = async (body: unknown, param: string, status = 400) => {
      const res = await admin("POST", budgetsOf(f.project.slug), body);
      expect({ status: res.status, param: res.body.error?.param }).toEqual({ status, param });
    };
    const key = { type: "key", id: f.key.id };
    await bad({ subject: key, limit_tokens: -1, period: "day" }, "limit_tokens");
    await bad({ subject: key, limit_tokens: 1.5, period: "day" }, "limit_tokens");
    await bad({ subject: key, limit_tokens: "10", period: "day" }, "limit_tokens");
    await bad({ subject: key, limit_tokens: 10, period: "week" }, "period");
    await bad({ subject: key, limit_tokens: 10, period: "day", mode: "strict" }, "mode");
    await bad({ subject: key, limit_tokens: 10, period: "day", extra: 1 }, "extra");
    await bad({ subject: { type: "team", id: "x" }, limit_tokens: 10, period: "day" }, "subject.type");
    await bad({ subject: { type: "key", id: other.key.id }, limit_tokens: 10, period: "day" }, "subject.id");
    await bad({ subject: { type: "application", id: "app_nope" }, limit_tokens: 10, period: "day" }, "subject.id");
    await bad({ subject: { type: "project", id: other.project.slug }, limit_tokens: 10, period: "day" }, "subject.id");
    const revoked = await createKey(f.project.slug, [`${f.project.slug}/${f.deployment.slug}`]);
    expect((await admin("DELETE", `/projects/${f.project.slug}/keys/${revoked.id}`)).status).toBe(200);
    await bad({ subject: { type: "key", id: revoked.id }, limit_tokens: 10, period: "day" }, "subject.id");
    expect((await admin("POST", budgetsOf(f.project.slug), { subject: key, limit_tokens: 10, period: "day" })).status).toBe(201);
    await bad({ subject: key, limit_tokens: 20, period: "day" }, "period", 409);
    const list = await admin("GET", budgetsOf(f.project.slug));
    expect(list.body.data).toHaveLength(1);
    const id = list.body.data[0].id as string;
    const patch = await admin("PATCH", `${budgetsOf(f.project.slug)}/${id}`, { period: "month" });
    expect({ status: patch.status, param: patch.body.error.param }).toEqual({ status: 400, param: "period" });
  });

  it("a budget of another project is not found", async () => {
    const a = await fixture();
    const b = await fixture();
    const budget = await admin("POST", budgetsOf(a.project.slug), { subject: { type: "key", id: a.key.id }, limit_tokens: 1, period: "day" });
    expect((await admin("GET", `${budgetsOf(b.project.slug)}/${budget.body.id}`)).status).toBe(404);
    expect((await admin("DELETE", `${budgetsOf(b.project.slug)}/${budget.body.id}`)).status).toBe(404);
  });

  it("a PATCH of another project's budget is not found, and changes nothing: not the row, not its counter, not the audit", async () => {
    const a = await fixture();
    const b = await fixture();
    const created = await admin("POST", budgetsOf(a.project.slug), { subject: { type: "key", id: a.key.id }, limit_tokens: 100, period: "day" });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const counter = () => env.BUDGETS.get(env.BUDGETS.idFromName(id)).state();
    const audit = async (project: string) => (await admin("GET", `/projects/${project}/audit?limit=100`)).body.data.map((e: { action: string }) => e.action);
    const [counterBefore, auditA, auditB] = [await counter(), await audit(a.project.slug), await audit(b.project.slug)];
    expect(counterBefore).toMatchObject({ configured: true, limitTokens: 100, mode: "hard" });

    const patch = await admin("PATCH", `${budgetsOf(b.project.slug)}/${id}`, { limit_tokens: 5, mode: "soft" });
    expect(patch.status).toBe(404);
    expect(patch.body.error.code).toBe("not_found");
    expect((await admin("GET", `${budgetsOf(a.project.slug)}/${id}`)).body).toEqual(created.body);
    expect(await counter()).toEqual(counterBefore);
    expect(await audit(a.project.slug)).toEqual(auditA);
    expect(await audit(b.project.slug)).toEqual(auditB);

    // The same PATCH through the budget's own project is accepted: the 404 above was the project check's doing.
    const own = await admin("PATCH", `${budgetsOf(a.project.slug)}/${id}`, { limit_tokens: 5, mode: "soft" });
    expect(own.body).toMatchObject({ id, limit_tokens: 5, mode: "soft" });
    expect(await counter()).toMatchObject({ limitTokens: 5, mode: "soft" });
  });

  it("deleting the project removes its budgets' counters", async () => {
    const f = await fixture();
    const budget = await admin("POST", budgetsOf(f.project.slug), { subject: { type: "key", id: f.key.id }, limit_tokens: 1, period: "day" });
    expect((await admin("DELETE", `/projects/${f.project.slug}`)).status).toBe(200);
    expect((await env.BUDGETS.get(env.BUDGETS.idFromName(budget.body.id)).state()).configured).toBe(false);
  });
});
