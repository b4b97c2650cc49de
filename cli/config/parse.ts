/**
 * Reading a config file: YAML with positions kept, the schema (./schema.ts), then the checks across entries (a name
 * given twice, a reference to a name the file does not declare). Every problem is reported as `FILE:LINE:COL: message`,
 * YAML syntax errors included; each of the three stages reports all it finds, and a stage runs once those before it pass.
 */
import { readFileSync } from "node:fs";
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { type Config, ConfigSchema, type ProjectConfig, type SubjectConfig } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join("\n"));
    this.problems = problems;
  }
}

type Path = readonly PropertyKey[];

/** Where a path of the document is; `key` points at a mapping's key rather than its value (an unknown field). */
function locate(doc: Document, path: Path, key = false): [number, number] | undefined {
  let node: unknown = doc.contents;
  let at: [number, number] | undefined = rangeOf(node);
  for (const [i, part] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === part);
      if (!pair) break;
      const last = i === path.length - 1;
      at = rangeOf(last && key ? pair.key : pair.value) ?? rangeOf(pair.key) ?? at;
      node = pair.value;
    } else if (isSeq(node) && typeof part === "number") {
      node = node.items[part];
      at = rangeOf(node) ?? at;
    } else break;
  }
  return at;
}

const rangeOf = (node: unknown): [number, number] | undefined => {
  const range = (node as Node | null)?.range;
  return range ? [range[0], range[1]] : undefined;
};

export function parseConfig(text: string, file: string): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    const pos = offset === undefined ? { line: 1, col: 1 } : lines.linePos(offset);
    return `${file}:${pos.line}:${pos.col}`;
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${at(e.pos[0])}: ${e.message.split("\n")[0]}`));
  }
  const result = ConfigSchema.safeParse(doc.toJS());
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const unknown = issue.code === "unrecognized_keys";
        const path = unknown ? [...issue.path, issue.keys[0]!] : issue.path;
        const message = unknown ? `unknown field '${issue.keys.join("', '")}'` : issue.message;
        return `${at(locate(doc, path, unknown)?.[0])}: ${dotted(path)}: ${message}`;
      }),
    );
  }
  const problems = crossChecks(result.data).map(({ path, message }) => `${at(locate(doc, path)?.[0])}: ${dotted(path)}: ${message}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data;
}

export function readConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError([`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  return parseConfig(text, file);
}

const dotted = (path: Path) => path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");

interface Problem {
  path: Path;
  message: string;
}

/** What one entry cannot see alone: names given twice, and names referred to that the file does not declare. */
function crossChecks(config: Config): Problem[] {
  const problems: Problem[] = [];
  const twice = <T>(items: T[] | undefined, identity: (item: T) => string, path: Path, field: string, what: string) => {
    const seen = new Set<string>();
    items?.forEach((item, i) => {
      const id = identity(item);
      if (seen.has(id)) problems.push({ path: [...path, i, field], message: `${what} '${id}' is given twice` });
      seen.add(id);
    });
  };
  twice(config.projects, (p) => p.slug, ["projects"], "slug", "project");
  config.projects.forEach((project, p) => {
    const at = ["projects", p] as const;
    twice(project.deployments, (d) => d.slug, [...at, "deployments"], "slug", "deployment");
    twice(project.applications, (a) => a.name, [...at, "applications"], "name", "application");
    twice(project.policies, (x) => x.name, [...at, "policies"], "name", "policy");
    twice(project.keys, (k) => k.name, [...at, "keys"], "name", "key");
    twice(project.budgets, (b) => `${subjectText(b.subject)} ${b.period}`, [...at, "budgets"], "period", "budget");
    problems.push(...references(project, at));
  });
  return problems;
}

/** A budget's subject as plan lines and messages name it: `project`, `key:ci`, `application:billing`. */
export const subjectText = (s: SubjectConfig): string =>
  s === "project" ? "project" : "key" in s ? `key:${s.key}` : `application:${s.application}`;

/**
 * A reference to a kind the project manages must name an entry of the file (else apply would create a dangling
 * reference, or prune what it refers to); a kind the project does not manage is looked up on the server when planning.
 */
function references(project: ProjectConfig, at: Path): Problem[] {
  const problems: Problem[] = [];
  const declared = (list: { name?: string; slug?: string }[] | undefined) => (list ? new Set(list.map((x) => x.slug ?? x.name!)) : undefined);
  const deployments = declared(project.deployments);
  const applications = declared(project.applications);
  const keys = declared(project.keys);
  const missing = (set: Set<string> | undefined, name: string, path: Path, what: string) => {
    if (set && !set.has(name)) problems.push({ path, message: `no ${what} '${name}' in this project's ${what === "policy" ? "policies" : `${what}s`}` });
  };
  project.policies?.forEach((policy, i) => {
    missing(applications, policy.application, [...at, "policies", i, "application"], "application");
    policy.rules.forEach((rule, r) =>
      rule.deployments.forEach((slug, d) => {
        if (slug !== "*") missing(deployments, slug, [...at, "policies", i, "rules", r, "deployments", d], "deployment");
      }),
    );
  });
  project.keys?.forEach((key, i) => {
    if (key.application !== undefined) missing(applications, key.application, [...at, "keys", i, "application"], "application");
    key.scopes?.forEach((scope, s) => {
      const path = [...at, "keys", i, "scopes", s];
      const prefix = `${project.slug}/`;
      if (!scope.startsWith(prefix)) problems.push({ path, message: `a scope is '${project.slug}/<deployment>' or '${project.slug}/*'` });
      else if (scope !== `${prefix}*`) missing(deployments, scope.slice(prefix.length), path, "deployment");
    });
  });
  project.budgets?.forEach((budget, i) => {
    const s = budget.subject;
    if (s !== "project" && "key" in s) missing(keys, s.key, [...at, "budgets", i, "subject", "key"], "key");
    if (s !== "project" && "application" in s) missing(applications, s.application, [...at, "budgets", i, "subject", "application"], "application");
  });
  return problems;
}
