/**
 * Every failure the SDK reports is a KeygateError: an answer from keygate (its error body, which has OpenAI's shape),
 * an answer that is not keygate's (a proxy's HTML page), no answer at all, or a setting the client was not given.
 */

export type KeygateErrorType =
  /** keygate's own `error.type`: invalid_request_error, authentication_error, permission_error, … */
  | (string & {})
  /** no HTTP answer: the connection failed or timed out (status 0) */
  | "connection_error"
  /** the client was not given what it needs, such as a token (status 0) */
  | "configuration_error";

export interface KeygateErrorFields {
  status: number;
  type: KeygateErrorType;
  code: string | null;
  param: string | null;
  message: string;
  requestId?: string | null;
  cause?: unknown;
}

export class KeygateError extends Error {
  /** The HTTP status; 0 when there was no answer (connection or configuration). */
  readonly status: number;
  readonly type: KeygateErrorType;
  /** keygate's error code (docs/api.md, "Errors"), e.g. `not_found`, `scope_insufficient`. */
  readonly code: string | null;
  /** The request field the error is about, when there is one. */
  readonly param: string | null;
  /** The `x-request-id` of the answer: quote it when you report a problem; it is in keygate's log line. */
  readonly requestId: string | null;

  constructor(fields: KeygateErrorFields) {
    super(fields.message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = "KeygateError";
    this.status = fields.status;
    this.type = fields.type;
    this.code = fields.code;
    this.param = fields.param;
    this.requestId = fields.requestId ?? null;
  }

  /** The error an HTTP answer stands for: keygate's body when it is one, else a summary of what came back. */
  static async fromResponse(response: Response): Promise<KeygateError> {
    const requestId = response.headers.get("x-request-id");
    const text = await response.text().catch(() => "");
    const body = parseErrorBody(text);
    if (body) return new KeygateError({ status: response.status, requestId, ...body });
    return new KeygateError({
      status: response.status,
      type: "api_error",
      code: null,
      param: null,
      requestId,
      message: `HTTP ${response.status} without keygate's error body${text ? `: ${text.slice(0, 200)}` : ""}`,
    });
  }
}

function parseErrorBody(text: string): Pick<KeygateErrorFields, "type" | "code" | "param" | "message"> | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  if (typeof error !== "object" || error === null || typeof error.message !== "string") return null;
  return {
    message: error.message,
    type: typeof error.type === "string" ? error.type : "api_error",
    code: typeof error.code === "string" ? error.code : null,
    param: typeof error.param === "string" ? error.param : null,
  };
}
