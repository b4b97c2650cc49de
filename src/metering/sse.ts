/**
 * Usage in a streamed answer (Server-Sent Events, https://html.spec.whatwg.org/multipage/server-sent-events.html).
 *
 * Chat and completions: the origin asked for usage (`stream_options.include_usage`) sends one more chunk after the
 * last content chunk, before `data: [DONE]`, with `"choices":[]` and `usage` set; OpenAI also writes
 * `"usage":null` into every other chunk. /v1/responses: the terminal event (`response.completed`, or
 * `response.incomplete` / `response.failed`, which also carry what was used) has `response.usage`.
 *
 * When keygate asked for usage on the client's behalf (`hide`), the client must get exactly the stream it would have
 * had without keygate: the usage event is dropped whole (its data line and its blank line), and the `"usage":null`
 * member is cut out of every other chunk with one adjacent comma, as the server would have written it without the
 * field. Complete lines go on at once; only a trailing partial line is held until its end arrives (a client
 * dispatches an event only at its blank line anyway). Otherwise every chunk goes on at once and unchanged, and a
 * copy of a partial line is kept to be read when it ends.
 *
 * The common chunk costs a line split and a byte search for `"usage"`; only a line that has it is scanned
 * (json-object.ts), and only the usage value itself is parsed.
 */
import { applyEdits, concat, isSpace, scanObject, type Edit, type Member } from "../json-object";
import { bytesEqual, indexOfBytes, startsWithAt } from "./bytes";
import type { MeteredRoute } from "./request";
import type { BodyScanner } from "./response";
import { countsIn, type TokenCounts } from "./usage";

/**
 * A line longer than this is passed on, or let go of, unread (its usage, if any, is then estimated). A terminal
 * /v1/responses event repeats the whole output, so this is generous.
 */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const DATA = encoder.encode("data:");
const USAGE = encoder.encode('"usage"');
const DONE = encoder.encode("[DONE]");
const NULL = encoder.encode("null");
const LF = 0x0a, CR = 0x0d, SPACE = 0x20, COMMA = 0x2c, LBRACE = 0x7b, LBRACKET = 0x5b, RBRACKET = 0x5d;

/** A line goes on as it is, goes nowhere, or goes on as these bytes. */
type Verdict = "keep" | "drop" | Uint8Array;

const TERMINAL_EVENTS = new Set(["response.completed", "response.incomplete", "response.failed"]);

export class SseScanner implements BodyScanner {
  /** The current line's bytes so far (copies), when it began in an earlier chunk. */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  /** The current line outgrew MAX_LINE_BYTES: the rest of it goes by unread. */
  private overlong = false;
  /** The last chunk ended in CR: a LF first in the next one ends the same line, and shares its verdict. */
  private crPending = false;
  private crDropped = false;
  private atEventStart = true;
  private eventHasData = false;
  /** Dropping the rest of a hidden event, through its blank line. */
  private dropping = false;
  private events = 0;
  private counts: TokenCounts | "malformed" | null = null;

  /** @param hide keygate asked for usage: hide it from the client */
  constructor(
    private readonly route: MeteredRoute,
    private readonly hide: boolean,
  ) {}

  push(chunk: Uint8Array): Uint8Array | null {
    const out: Uint8Array[] = [];
    let i = 0;
    let from = 0; // chunk[from, i) goes to the client as it is (when hiding)
    if (this.crPending) {
      this.crPending = false;
      if (chunk[0] === LF) {
        i = 1;
        if (this.crDropped) from = 1;
      }
    }
    const breaks = new LineBreaks(chunk);
    while (i < chunk.length) {
      const j = breaks.next(i);
      if (j < 0) {
        this.holdRest(chunk, i, from, out);
        from = i = chunk.length;
        break;
      }
      let k = j + 1;
      if (chunk[j] === CR) {
        if (k === chunk.length) this.crPending = true;
        else if (chunk[k] === LF) k++;
      }
      const wasHeld = this.held.length > 0;
      const line = wasHeld ? concat([...this.held, chunk.subarray(i, j)]) : chunk.subarray(i, j);
      this.held = [];
      this.heldBytes = 0;
      const verdict = this.overlong ? "keep" : this.readLine(line);
      this.overlong = false;
      if (this.crPending) this.crDropped = verdict === "drop";
      if (this.hide && (verdict !== "keep" || wasHeld)) {
        if (from < i) out.push(chunk.subarray(from, i));
        if (verdict !== "drop") out.push(verdict === "keep" ? line : verdict);
        from = verdict === "drop" ? k : j;
      }
      i = k;
    }
    if (!this.hide) return chunk;
    if (from < i) out.push(chunk.subarray(from, i));
    return out.length === 0 ? null : out.length === 1 ? out[0]! : concat(out);
  }

  /** The body ended: a last line with no line break is still read (and, when hiding, still passed on). */
  end(): Uint8Array | null {
    if (this.held.length === 0) return null;
    const line = concat(this.held);
    this.held = [];
    const verdict = this.readLine(line);
    if (!this.hide || verdict === "drop") return null;
    return verdict === "keep" ? line : verdict;
  }

  usage(): TokenCounts | "malformed" | null {
    return this.counts;
  }

  /** Servers send about one token per event. */
  outputEstimate(): number {
    return this.events;
  }

  /** Keeps chunk[i..] as the start of a line; a line that grows too long goes on (or is let go of) unread. */
  private holdRest(chunk: Uint8Array, i: number, from: number, out: Uint8Array[]): void {
    const rest = chunk.subarray(i);
    if (this.hide && from < i) out.push(chunk.subarray(from, i));
    if (this.overlong) {
      if (this.hide) out.push(rest);
      return;
    }
    if (this.heldBytes + rest.length <= MAX_LINE_BYTES) {
      this.held.push(rest.slice());
      this.heldBytes += rest.length;
      return;
    }
    const head = concat([...this.held, rest]);
    this.held = [];
    this.heldBytes = 0;
    this.overlong = true;
    this.dataOf(head);
    if (this.hide) out.push(head);
  }

  private readLine(line: Uint8Array): Verdict {
    if (line.length === 0) {
      // A blank line ends the event.
      const dropped = this.dropping;
      this.dropping = false;
      this.atEventStart = true;
      this.eventHasData = false;
      return dropped ? "drop" : "keep";
    }
    const first = this.atEventStart;
    const data = this.dataOf(line);
    if (this.dropping) return "drop";
    if (data === null || indexOfBytes(data, USAGE) < 0) return "keep";
    if (this.route === "responses") {
      this.readResponseEvent(data);
      return "keep";
    }
    const hidden = this.readChunk(data, first);
    if (hidden === "keep" || hidden === "drop") return hidden;
    return concat([line.subarray(0, line.length - data.length), hidden]);
  }

  /** The event bookkeeping for a line that is not blank; the data when it is a data line. */
  private dataOf(line: Uint8Array): Uint8Array | null {
    this.atEventStart = false;
    if (!startsWithAt(line, DATA, 0)) return null;
    const data = line.subarray(line[DATA.length] === SPACE ? DATA.length + 1 : DATA.length);
    if (!this.eventHasData) {
      this.eventHasData = true;
      if (!bytesEqual(data, DONE)) this.events++;
    }
    return data;
  }

  /** A chat or completion chunk with a usage member: the counts read, and what the client gets of it. */
  private readChunk(data: Uint8Array, first: boolean): Verdict {
    const scanned = scanObject(data, ["usage", "choices"]);
    if (typeof scanned === "string") return "keep";
    const usages = scanned.members.filter((member) => member.name === "usage");
    const report = usages.findLast((member) => !isNull(data, member));
    if (report !== undefined) this.counts = countsIn(this.route, data.subarray(report.start, report.end));
    if (!this.hide || usages.length === 0) return "keep";
    const choices = scanned.members.findLast((member) => member.name === "choices");
    if (report !== undefined && (choices === undefined || isEmptyArray(data, choices))) {
      // The chunk keygate asked for. When its data line opens the event, the event goes whole; else the line
      // alone, which leaves an event with no data, and a client dispatches none (SSE "dispatch the event").
      this.dropping = first;
      return "drop";
    }
    return applyEdits(data, withoutMembers(data, usages));
  }

  private readResponseEvent(data: Uint8Array): void {
    const scanned = scanObject(data, ["type", "response"]);
    if (typeof scanned === "string") return;
    const type = scanned.members.findLast((member) => member.name === "type");
    if (type === undefined || !TERMINAL_EVENTS.has(stringValue(data, type))) return;
    const response = scanned.members.findLast((member) => member.name === "response");
    if (response === undefined || data[response.start] !== LBRACE) return;
    const body = data.subarray(response.start, response.end);
    const inner = scanObject(body, ["usage"]);
    const usage = typeof inner === "string" ? undefined : inner.members.at(-1);
    if (usage === undefined || isNull(body, usage)) return;
    this.counts = countsIn(this.route, body.subarray(usage.start, usage.end));
  }
}

/**
 * The CR and LF bytes of a chunk, in order. Each kind is searched for again only once passed, so a chunk of many
 * lines with no CR in it is not searched to its end for a CR at every line.
 */
class LineBreaks {
  private lf = -2;
  private cr = -2;

  constructor(private readonly chunk: Uint8Array) {}

  /** The first CR or LF at or after `i`, or -1. */
  next(i: number): number {
    if (this.lf !== -1 && this.lf < i) this.lf = this.chunk.indexOf(LF, i);
    if (this.cr !== -1 && this.cr < i) this.cr = this.chunk.indexOf(CR, i);
    return this.lf < 0 ? this.cr : this.cr < 0 ? this.lf : Math.min(this.lf, this.cr);
  }
}

function isNull(data: Uint8Array, member: Member): boolean {
  return bytesEqual(data.subarray(member.start, member.end), NULL);
}

function isEmptyArray(data: Uint8Array, member: Member): boolean {
  let i = member.start + 1;
  while (isSpace(data[i])) i++;
  return data[member.start] === LBRACKET && data[i] === RBRACKET;
}

/** A short string value, decoded; "" for anything else. */
function stringValue(data: Uint8Array, member: Member): string {
  if (member.end - member.start > 64 || data[member.start] !== 0x22) return "";
  return JSON.parse(decoder.decode(data.subarray(member.start, member.end))) as string;
}

/**
 * The edits that remove these members, each with one adjacent comma and the whitespace on that side, so
 * `{"a":1,"usage":null}` and `{"a": 1, "usage": null}` read as `{"a":1}` and `{"a": 1}`, and a first member takes the
 * comma after it.
 */
function withoutMembers(data: Uint8Array, members: Member[]): Edit[] {
  return members.map((member) => {
    let before = member.keyStart - 1;
    while (isSpace(data[before])) before--;
    if (data[before] === COMMA) return { start: before, end: member.end, text: "" };
    let after = member.end;
    while (isSpace(data[after])) after++;
    if (data[after] !== COMMA) return { start: member.keyStart, end: member.end, text: "" };
    after++;
    while (isSpace(data[after])) after++;
    return { start: member.keyStart, end: after, text: "" };
  });
}
