/** keygate projects list|get|create|update|delete */
import type { Project } from "../../sdk/index.ts";
import { type Command, UsageError } from "../command.ts";
import type { Column } from "../output.ts";
import { args, confirmed, LIST_DETAILS, LIST_OPTIONS, rows, YES_OPTIONS } from "./common.ts";

const COLUMNS: Column<Project>[] = [
  { header: "SLUG", value: (p) => p.slug },
  { header: "NAME", value: (p) => p.name },
  { header: "SUSPENDED", value: (p) => p.suspended },
  { header: "CREATED", value: (p) => p.created_at },
];

export const projectCommands: Command[] = [
  {
    name: "projects list",
    summary: "List projects (a management token sees its own)",
    usage: "[--limit N]",
    details: LIST_DETAILS,
    options: LIST_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      out.list(await rows(values, (query) => client().projects.list(query)), COLUMNS);
    },
  },
  {
    name: "projects get",
    summary: "Show one project",
    usage: "[<slug>]   (default: --project)",
    async run({ client, out }, { positionals }) {
      out.object(await client().projects.get(positionals[0] ?? client().project));
    },
  },
  {
    name: "projects create",
    summary: "Create a project (needs the root ADMIN_TOKEN)",
    usage: "<slug> [--name NAME]",
    options: { name: { type: "string" } },
    async run({ client, out }, { positionals, values }) {
      const { slug } = args(positionals, "slug");
      out.object(await client().projects.create({ slug, ...(values.name ? { name: values.name as string } : {}) }));
    },
  },
  {
    name: "projects update",
    summary: "Rename a project, or suspend it (the kill switch) and resume it",
    usage: "[<slug>] [--name NAME] [--suspend | --resume]",
    options: { name: { type: "string" }, suspend: { type: "boolean" }, resume: { type: "boolean" } },
    async run({ client, out }, { positionals, values }) {
      if (values.suspend && values.resume) throw new UsageError("--suspend and --resume contradict each other");
      const body = {
        ...(values.name ? { name: values.name as string } : {}),
        ...(values.suspend ? { suspended: true } : values.resume ? { suspended: false } : {}),
      };
      if (Object.keys(body).length === 0) throw new UsageError("nothing to change: give --name, --suspend or --resume");
      out.object(await client().projects.update(body, positionals[0] ?? client().project));
    },
  },
  {
    name: "projects delete",
    summary: "Delete a project with everything in it",
    usage: "<slug> --yes",
    options: YES_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      const { slug } = args(positionals, "slug");
      confirmed(values, `deleting ${slug} removes its deployments, keys, tokens, applications, policies and budgets`);
      out.object(await client().projects.delete(slug));
    },
  },
];
