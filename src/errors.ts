/**
 * The one error type. Every non-2xx response keygate writes comes from here, in the shape OpenAI clients
 * already parse: {"error": {"message", "type", "code", "param"}} (docs/api.md, "Errors").
 */
import { StoreError } from "./store/errors";

export const ERROR_CODES = {
  invalid_request: { status: 400, type: "invalid_request_error" },
  missing_api_key: { status: 401, type: "authentication_error" },
  invalid_api_key: { status: 401, type: "authentication_error" },
  expired_api_key: { status: 401, type: "authentication_error" },
  wrong_credential_type: { status: 403, type: "permission_error" },
  project_scope_mismatch: { status: 403, type: "permission_error" },
  scope_insufficient: { status: 403, type: "permission_error" },
  ip_not_allowed: { status: 403, type: "permission_error" },
  condition_not_met: { status: 403, type: "permission_error" },
  client_certificate_required: { status: 403, type: "permission_error" },
  project_suspended: { status: 403, type: "permission_error" },
  csrf_check_failed: { status: 403, type: "permission_error" },
  not_found: { status: 404, type: "not_found_error" },
  method_not_allowed: { status: 405, type: "invalid_request_error" },
  request_timeout: { status: 408, type: "invalid_request_error" },
  conflict: { status: 409, type: "invalid_request_error" },
  request_too_large: { status: 413, type: "invalid_request_error" },
  rate_limited: { status: 429, type: "rate_limit_error" },
  // OpenAI's own type and code for a spent quota, so clients that handle OpenAI's answer handle keygate's.
  insufficient_quota: { status: 429, type: "insufficient_quota" },
  internal_error: { status: 500, type: "api_error" },
  origin_unreachable: { status: 502, type: "api_error" },
  store_unavailable: { status: 503, type: "api_error" },
  origin_timeout: { status: 504, type: "api_error" },
} as const satisfies Record<string, { status: number; type: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export type ErrorStatus = (typeof ERROR_CODES)[ErrorCode]["status"];

/** Safe public sentences for codes whose message never varies. */
const DEFAULT_MESSAGES: Record<ErrorCode, string> = {
  invalid_request: "The request is invalid.",
  missing_api_key: "No credential was sent. Use 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
  invalid_api_key: "The credential is malformed, unknown or revoked.",
  expired_api_key: "The credential has expired.",
  wrong_credential_type: "This credential cannot be used here.",
  project_scope_mismatch: "The credential belongs to another project.",
  scope_insufficient: "The credential does not allow this.",
  ip_not_allowed: "Requests from this IP address are not allowed for this key.",
  condition_not_met: "A condition on this key is not met.",
  client_certificate_required: "This hostname needs a verified, unrevoked client certificate that this deployment accepts.",
  project_suspended: "This project is suspended: its deployments answer no requests.",
  csrf_check_failed: "This write could have been made by another site, so it was refused.",
  not_found: "Not found.",
  method_not_allowed: "keygate forwards only GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS.",
  request_timeout: "The request body did not arrive in time.",
  conflict: "The request conflicts with the current state.",
  request_too_large: "The request body is too large.",
  rate_limited: "Too many requests.",
  insufficient_quota: "You exceeded your current quota: a token budget covering this request is spent for its period.",
  internal_error: "An internal error occurred.",
  origin_unreachable: "The origin could not be reached.",
  store_unavailable: "The key store is unavailable; the request was denied.",
  origin_timeout: "The origin did not answer in time.",
};

export class ApiError extends Error {
  readonly status: ErrorStatus;
  readonly type: string;
  readonly publicMessage: string;

  /**
   * @param message public text: safe to show; never a secret, never an internal error message
   * @param cause   internal detail for logs only
   */
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly param: string | null = null,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message ?? DEFAULT_MESSAGES[code], options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = ERROR_CODES[code].status;
    this.type = ERROR_CODES[code].type;
    this.publicMessage = message ?? DEFAULT_MESSAGES[code];
    // Lower-cased: errorResponse() lists them with its own headers in one object, where two spellings of one name
    // would both be sent.
    this.headers = options?.headers
      ? Object.fromEntries(Object.entries(options.headers).map(([name, value]) => [name.toLowerCase(), value]))
      : {};
  }

  /** Extra response headers, by lower-case name. */
  readonly headers: Record<string, string>;
}

export interface ErrorBody {
  error: { message: string; type: string; code: ErrorCode; param: string | null };
}

export function errorBody(err: ApiError): ErrorBody {
  return { error: { message: err.publicMessage, type: err.type, code: err.code, param: err.param } };
}

/** The one function that turns an ApiError into a Response. */
export function errorResponse(err: ApiError, requestId: string): Response {
  // One plain object, which the Response constructor turns into its headers once (a Headers object built here would
  // be copied again). The error's own headers (`allow`, `retry-after`) come first and lower-cased, so keygate's win.
  const headers: Record<string, string> = {
    ...err.headers,
    "content-type": "application/json",
    "x-request-id": requestId,
    // Auth outcomes must never be cached by a proxy or browser (RFC 9111 §5.2.2.5; oauth-provider does the same).
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  };
  if (err.status === 401) headers["www-authenticate"] = 'Bearer realm="keygate"';
  return new Response(JSON.stringify(errorBody(err)), { status: err.status, headers });
}

/**
 * Every thrown thing as the contract's error. Store errors map by kind (a store that failed or did not answer
 * denies: 503, fail closed); a security setting that does not parse is a 500 whose log names the variable; anything
 * else is a bug: a generic 500, never err.message.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreError) {
    return new ApiError(err.kind === "conflict" ? "conflict" : "store_unavailable", undefined, null, { cause: err });
  }
  return new ApiError("internal_error", undefined, null, { cause: err });
}

/** The internal reason of a 5xx, for the log only: the wire gets the ApiError's public message. */
export function internalReason(apiError: ApiError): string | undefined {
  if (apiError.status < 500) return undefined;
  const cause = apiError.cause ?? apiError;
  return cause instanceof Error ? cause.message : String(cause);
}
