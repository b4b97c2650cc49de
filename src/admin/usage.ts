/**
 * /admin/v1/projects/{project}/usage — requests and tokens per UTC day, key and deployment (docs/usage.md). Counts
 * reach D1 in coalesced batches: a request is in this report within 60 s of its end (in practice within
 * USAGE_FLUSH_MS, 5 s by default).
 */
import * as z from "zod";
import { ApiError } from "../errors";
import { listUsage, type UsageRow } from "../store/usage";
import { DAY_MS, utcDate } from "../time";
import { projectFor } from "./guard";
import { Routes } from "./route";
import { AUTH_ERRORS, json, ProjectParams, Slug, TypedId } from "./schemas";

/** The longest span one report covers: a year and a day, so any calendar year fits. */
const MAX_DAYS = 366;
const DEFAULT_DAYS = 30;
const MAX_PAGE_SIZE = 1000;

const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD")
  // Date.parse rolls 2026-02-30 over to March: a calendar date is one that reads back the same.
  .refine((text) => {
    const millis = Date.parse(`${text}T00:00:00Z`);
    return !Number.isNaN(millis) && utcDate(millis) === text;
  }, "is not a calendar date");

const UsageQuery = z.object({
  from: IsoDate.optional().meta({ description: "First UTC day, inclusive (default: 29 days before `to`)." }),
  to: IsoDate.optional().meta({ description: "Last UTC day, inclusive (default: today)." }),
  key_id: TypedId("key", "a key").optional(),
  deployment: Slug.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(MAX_PAGE_SIZE),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,400}$/, "is not a cursor this API returned")
    .optional()
    .meta({ description: "`next_cursor` of the previous page" }),
});

export const UsageRecord = z
  .object({
    date: z.string().meta({ example: "2026-12-01" }),
    key_id: z.string().nullable().meta({ description: "null: requests to a deployment with auth off." }),
    deployment: z.string(),
    requests: z.number().int(),
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    estimated_tokens: z.number().int().meta({ description: "Tokens the origin never reported, estimated from the bytes seen." }),
  })
  .meta({ id: "UsageRecord" });

const UsageList = z
  .object({ object: z.literal("list"), data: z.array(UsageRecord), has_more: z.boolean(), next_cursor: z.string().nullable() })
  .meta({ id: "UsageList" });

const encodeCursor = (row: UsageRow) =>
  btoa(JSON.stringify([row.date, row.key_id, row.deployment])).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

function decodeCursor(cursor: string): [string, string, string] {
  try {
    const value: unknown = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (Array.isArray(value) && value.length === 3 && value.every((part) => typeof part === "string")) {
      return value as [string, string, string];
    }
  } catch {
    // reported below
  }
  throw new ApiError("invalid_request", "Invalid 'cursor': is not a cursor this API returned.", "cursor");
}

function usageView(row: UsageRow): z.infer<typeof UsageRecord> {
  return {
    date: row.date,
    key_id: row.key_id === "" ? null : row.key_id,
    deployment: row.deployment,
    requests: row.requests,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    estimated_tokens: row.estimated_tokens,
  };
}

export const usage = new Routes();

usage.add(
  {
    method: "get",
    path: "/projects/{project}/usage",
    tags: ["Usage"],
    summary: "Requests and tokens per UTC day, key and deployment",
    request: { param: ProjectParams, query: UsageQuery },
    responses: { 200: json(UsageList, "Usage rows, oldest day first."), ...AUTH_ERRORS },
  },
  async (c) => {
    const project = await projectFor(c, c.req.valid("param").project, "read");
    const query = c.req.valid("query");
    const to = query.to ?? utcDate(Date.now());
    const from = query.from ?? utcDate(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_DAYS - 1) * DAY_MS);
    if (from > to) throw new ApiError("invalid_request", "Invalid 'from': it is after 'to'.", "from");
    if ((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS >= MAX_DAYS) {
      throw new ApiError("invalid_request", `Invalid 'from': one report covers at most ${MAX_DAYS} days.`, "from");
    }
    const rows = await listUsage(
      c.env.DB,
      project.id,
      {
        from,
        to,
        keyId: query.key_id ?? null,
        deployment: query.deployment ?? null,
        after: query.cursor === undefined ? null : decodeCursor(query.cursor),
      },
      query.limit + 1,
    );
    const hasMore = rows.length > query.limit;
    const page = hasMore ? rows.slice(0, query.limit) : rows;
    return c.json(
      {
        object: "list" as const,
        data: page.map(usageView),
        has_more: hasMore,
        next_cursor: hasMore ? encodeCursor(page.at(-1)!) : null,
      },
      200,
    );
  },
);
