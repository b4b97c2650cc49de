/**
 * src/time.ts's rule for a client's date-time as a zod schema, for request bodies (key expiries, token expiries,
 * condition windows): RFC 3339 with an offset, at most year 9999 in UTC, returned in UTC with milliseconds. Its own
 * file so the data plane, which reads stored times through time.ts, never loads zod.
 */
import * as z from "zod";
import { NOT_RFC3339, parseTimestamp } from "./time";

export const Timestamp = z
  .string({ error: NOT_RFC3339 })
  .transform((value, ctx) => {
    const parsed = parseTimestamp(value);
    if (parsed.ok) return new Date(parsed.millis).toISOString();
    ctx.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  })
  .meta({ format: "date-time", example: "2026-12-31T23:59:59Z" });
