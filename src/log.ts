/**
 * The one way keygate writes logs: one JSON object per line (Workers Logs and `wrangler tail` index its fields).
 * Anything shaped like a secret is cut out of every line, wherever it came from (an error quoting a URL, a
 * header echoed by a library…): the contract says a secret is never written to logs, and this makes it so even
 * for text keygate did not write itself.
 */
const SECRET_LIKE = /ik_(live|sdk)_[0-9A-Za-z]{4,}/g;

export function logLine(fields: Record<string, unknown>): void {
  let line = JSON.stringify(fields);
  if (line.includes("ik_")) line = line.replace(SECRET_LIKE, "ik_$1_[redacted]");
  if (fields.level === "error") console.error(line);
  else if (fields.level === "warn") console.warn(line);
  else console.log(line);
}
