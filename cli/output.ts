/**
 * How results are printed: `--json` writes the API's objects as JSON (one document per command, for scripts and
 * jq); otherwise a table of chosen columns, or `field  value` lines for one object. Errors go to stderr.
 */

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

export interface Output {
  json: boolean;
  /** A list of objects: JSON array, or a table. */
  list<T>(rows: T[], columns: Column<T>[]): void;
  /** One object: JSON, or `field  value` lines of `fields` (all top-level fields when omitted). */
  object<T extends object>(value: T, fields?: (keyof T & string)[]): void;
  /** A line for people (not printed under --json). */
  info(line: string): void;
  /** Always printed to stdout, JSON or not (a secret shown once, say). */
  raw(text: string): void;
  error(line: string): void;
}

export interface Streams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export function cell(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (Array.isArray(value)) return value.length === 0 ? "-" : value.map(cell).join(",");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((text, i) => (i === row.length - 1 ? text : text.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n");
}

export function createOutput(json: boolean, streams: Streams): Output {
  const write = (text: string) => streams.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  return {
    json,
    list(rows, columns) {
      if (json) return void write(JSON.stringify(rows, null, 2));
      if (rows.length === 0) return void write("(none)");
      write(table([columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => cell(c.value(row))))]));
    },
    object(value, fields) {
      if (json) return void write(JSON.stringify(value, null, 2));
      const names = fields ?? (Object.keys(value) as (keyof typeof value & string)[]);
      write(table(names.map((name) => [name, cell(value[name])])));
    },
    info(line) {
      if (!json) write(line);
    },
    raw(text) {
      write(text);
    },
    error(line) {
      streams.stderr.write(line.endsWith("\n") ? line : `${line}\n`);
    },
  };
}
