import { describe, expect, it } from "vitest";
import { admin, createProject, uniqueSlug } from "../helpers";

describe("projects", () => {
  it("creates, reads, renames, lists and deletes a project", async () => {
    const slug = uniqueSlug("acme");
    const created = await admin("POST", "/projects", { slug, name: "Acme" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ object: "project", slug, name: "Acme" });
    expect(created.body.id).toMatch(/^prj_/);
    expect(created.headers.get("x-request-id")).toBeTruthy();

    expect((await admin("GET", `/projects/${slug}`)).body.name).toBe("Acme");
    const renamed = await admin("PATCH", `/projects/${slug}`, { name: "Acme Inc" });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe("Acme Inc");

    const list = await admin("GET", "/projects?limit=100");
    expect(list.status).toBe(200);
    expect(list.body.data.map((p: { slug: string }) => p.slug)).toContain(slug);

    expect((await admin("DELETE", `/projects/${slug}`)).status).toBe(200);
    expect((await admin("GET", `/projects/${slug}`)).status).toBe(404);
  });

  it("rejects a taken slug with 409 and writes nothing", async () => {
    const project = await createProject();
    const again = await admin("POST", "/projects", { slug: project.slug });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: "conflict", type: "invalid_request_error", param: "slug" });
  });

  it.each([
    [{ slug: "Bad_Slug" }, "slug"],
    [{ slug: "-lead" }, "slug"],
    [{ slug: "a".repeat(64) }, "slug"],
    [{ slug: "x'; DROP TABLE projects; --" }, "slug"],
    [{ slug: 42 }, "slug"],
    [{}, "slug"],
    [{ slug: "ok-slug", colour: "red" }, "colour"],
    [{ slug: "ok-slug", name: "" }, "name"],
  ])("rejects %j with 400 naming %s", async (body, param) => {
    const res = await admin("POST", "/projects", body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "invalid_request", param });
  });

  it("rejects malformed JSON with 400", async () => {
    const res = await admin("POST", "/projects", "{not json");
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
  });

  it("paginates with limit and cursor", async () => {
    for (let i = 0; i < 3; i++) await createProject();
    const first = await admin("GET", "/projects?limit=2");
    expect(first.body.data).toHaveLength(2);
    expect(first.body.has_more).toBe(true);
    const second = await admin("GET", `/projects?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.data[0].id > first.body.data[1].id).toBe(true);
    expect((await admin("GET", "/projects?limit=1000")).status).toBe(400);
  });
});

describe("request limits", () => {
  it("refuses an oversized body with 413 and an oversized field with 400", async () => {
    const huge = await admin("POST", "/projects", { slug: "big", name: "x".repeat(70 * 1024) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe("request_too_large");
    const long = await admin("POST", "/projects", { slug: "long", name: "x".repeat(201) });
    expect(long.status).toBe(400);
    expect(long.body.error.param).toBe("name");
  });
});
