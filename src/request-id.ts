/** `x-request-id`: the client's when it is a sane token (so callers can correlate), else a fresh one. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestIdFor(request: Request): string {
  const offered = request.headers.get("x-request-id");
  if (offered !== null && CLIENT_REQUEST_ID.test(offered)) return offered;
  return `req_${crypto.randomUUID().replaceAll("-", "")}`;
}
