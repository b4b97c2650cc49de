/**
 * What a client hears when a request does not fit its route's declaration (route.ts): always a 400 invalid_request
 * in the error shape, naming the first field to fix in `param`.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type * as z from "zod";
import type { AppBindings } from "../env";
import { ApiError } from "../errors";

/** `["conditions", "ip_allow", 2]` → `conditions.ip_allow[2]`: the field a client has to fix. */
function paramOf(path: readonly PropertyKey[]): string | null {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out || null;
}

function validationError(error: z.core.$ZodError): ApiError {
  const issue = error.issues[0];
  if (!issue) return new ApiError("invalid_request");
  if (issue.code === "unrecognized_keys") {
    const field = paramOf([...issue.path, issue.keys[0] ?? ""]);
    return new ApiError("invalid_request", `Unknown field '${field}'.`, field);
  }
  const field = paramOf(issue.path);
  return new ApiError("invalid_request", field ? `Invalid '${field}': ${issue.message}.` : issue.message, field);
}

/** The validators' hook: a failed parse is thrown as the contract's error rather than answered as zod's result. */
export function throwIfInvalid(result: { success: true } | { success: false; error: z.core.$ZodError }): void {
  if (!result.success) throw validationError(result.error);
}

/** `application/json`, or a `+json` type, with parameters (the media types @hono/zod-openapi accepted). */
const JSON_CONTENT_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/** Whether the request has a body of at least one byte, read from a copy so the validator can still read it. */
async function hasBody(c: Context<AppBindings>): Promise<boolean> {
  const request = c.req.raw;
  if (request.body === null) return false;
  if (request.bodyUsed) return (await c.req.arrayBuffer()).byteLength > 0;
  // Up to the first non-empty chunk only: whether a body is there does not need all of it.
  const reader = request.clone().body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return false;
      if (value.byteLength > 0) return true;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * A body must be labelled as JSON: one sent as curl's default form type, as text/plain, or with no Content-Type at
 * all is refused with a sentence saying what to send, instead of being read as no body (Hono's JSON validator skips
 * a body that is not labelled JSON). A request with no Content-Type and no body is validated as `{}`.
 */
export const jsonOnly = createMiddleware<AppBindings>(async (c, next) => {
  const contentType = c.req.header("content-type");
  if (contentType ? !JSON_CONTENT_TYPE.test(contentType) : await hasBody(c)) {
    throw new ApiError("invalid_request", "The request body must be JSON, sent with 'Content-Type: application/json'.");
  }
  await next();
});
