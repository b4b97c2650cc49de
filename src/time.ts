/** Times on the wire and in D1 are RFC 3339 UTC strings with milliseconds; in memory, epoch milliseconds. */
export function isoNow(now = Date.now()): string {
  return new Date(now).toISOString();
}

export function toMillis(iso: string | null): number | null {
  return iso === null ? null : Date.parse(iso);
}
