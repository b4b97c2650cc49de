/**
 * The frame every console page shares: header and navigation, the read-only banner, the confirm dialog, the toast
 * region, and the one inline module script (the shared code, then the page's own), all carrying the response's nonce.
 */
import { cloneElement, isValidElement, type Child } from "hono/jsx";
import { raw } from "hono/html";
import { STYLES } from "./styles";
import { LIB } from "./scripts/lib";

export interface PageProps {
  title: string;
  nonce: string;
  /** the project the page is about (from its URL), or "" */
  project: string;
  /** the request came through Cloudflare Access (its JWT is on it): the console may work without a typed token */
  access: boolean;
  /** the page's own script, run after the shared code */
  script: string;
  /** which project tab is current, for aria-current */
  tab?: string;
  children?: Child;
}

const PROJECT_TABS = [
  ["deployments", "Deployments", ""],
  ["keys", "API keys", "/keys"],
  ["applications", "Applications", "/applications"],
  ["tokens", "Management tokens", "/tokens"],
  ["budgets", "Budgets", "/budgets"],
  ["usage", "Usage", "/usage"],
  ["audit", "Audit log", "/audit"],
  ["explain", "Explain", "/explain"],
] as const;

export function Page(props: PageProps) {
  const base = `/console/projects/${encodeURIComponent(props.project)}`;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.project ? `${props.title} · ${props.project} · keygate` : `${props.title} · keygate`}</title>
        <style nonce={props.nonce}>{raw(STYLES)}</style>
      </head>
      <body data-project={props.project} data-access={props.access ? "1" : "0"}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/console/projects">
            keygate
          </a>
          {props.project ? (
            <span class="crumb">
              / <a href={base}>{props.project}</a>
            </span>
          ) : null}
          <span class="spacer"></span>
          <span id="who" class="who"></span>
          <button id="sign-out" type="button" class="link">
            Sign out
          </button>
        </header>
        {props.project ? (
          <nav class="tabs" aria-label="Project">
            {PROJECT_TABS.map(([id, label, path]) => (
              <a href={base + path} aria-current={props.tab === id ? "page" : undefined}>
                {label}
              </a>
            ))}
          </nav>
        ) : null}
        <main id="main">
          {/* tabindex -1: where focus goes when the control that had it is redrawn away (keepFocus in lib.ts) */}
          <h1 tabindex={-1}>{props.title}</h1>
          <p id="fatal" class="banner error" role="alert" hidden></p>
          <p id="read-only" class="banner" role="status" hidden></p>
          <p id="suspended-banner" class="banner error" role="status" hidden></p>
          {props.children}
        </main>
        <div id="toast" class="toast" role="status" aria-live="polite" hidden></div>
        <dialog id="confirm" aria-labelledby="confirm-title">
          <form method="dialog">
            <h2 id="confirm-title">Are you sure?</h2>
            <p class="confirm-text"></p>
            <div class="actions">
              <button value="no" type="submit">
                Cancel
              </button>
              <button value="yes" type="submit" class="danger confirm-yes">
                Confirm
              </button>
            </div>
          </form>
        </dialog>
        {/* The page's own code in a block of its own, so its names cannot clash with the shared code's. */}
        <script type="module" nonce={props.nonce}>
          {raw(`${LIB}\n{\n${props.script}\n}\n`)}
        </script>
      </body>
    </html>
  );
}

/**
 * A labelled form control with its hint and its error slot (the API's message for this field lands in `.field-error`),
 * both tied to the control by aria-describedby so a screen reader reads them with it.
 */
export function Field(props: { label: string; hint?: string; children: Child; id: string }) {
  const describedBy = [props.hint ? `${props.id}-hint` : null, `${props.id}-error`].filter(Boolean).join(" ");
  const control = isValidElement(props.children) ? cloneElement(props.children, { "aria-describedby": describedBy }) : props.children;
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {control}
      {props.hint ? (
        <small id={`${props.id}-hint`} class="hint">
          {props.hint}
        </small>
      ) : null}
      <small id={`${props.id}-error`} class="field-error" role="alert" hidden></small>
    </div>
  );
}

/** The six conditions a key or a policy rule can carry, named `${prefix}ip_allow` etc., each with its error slot. */
export function ConditionsFields(props: { prefix: string; param: string }) {
  const p = props.prefix;
  const id = (name: string) => `${p}${name}`;
  return (
    <fieldset class="conditions">
      <legend>Conditions (optional: an empty field is no restriction)</legend>
      <Field id={id("ip_allow")} label="Allowed IP ranges" hint="CIDR, one per line: 203.0.113.0/24, 2001:db8::/32">
        <textarea id={id("ip_allow")} name={id("ip_allow")} data-param={`${props.param}.ip_allow`} rows={2}></textarea>
      </Field>
      <Field id={id("ip_deny")} label="Denied IP ranges" hint="Wins over the allowed ranges">
        <textarea id={id("ip_deny")} name={id("ip_deny")} data-param={`${props.param}.ip_deny`} rows={2}></textarea>
      </Field>
      <Field id={id("countries")} label="Countries" hint="ISO 3166-1 alpha-2 codes, comma separated: DE, FR">
        <input id={id("countries")} name={id("countries")} data-param={`${props.param}.countries`} />
      </Field>
      <Field id={id("asns")} label="ASNs" hint="Numbers, comma separated">
        <input id={id("asns")} name={id("asns")} data-param={`${props.param}.asns`} />
      </Field>
      <Field id={id("user_agents")} label="User agents" hint="Glob patterns, one per line: Terraform/*">
        <textarea id={id("user_agents")} name={id("user_agents")} data-param={`${props.param}.user_agents`} rows={2}></textarea>
      </Field>
      <fieldset class="field inline" data-param={`${props.param}.endpoints`}>
        <legend>Endpoints (none ticked: either)</legend>
        <label>
          <input type="checkbox" name={id("endpoints")} value="public" /> public
        </label>
        <label>
          <input type="checkbox" name={id("endpoints")} value="private" /> private
        </label>
        <small class="field-error" role="alert" hidden></small>
      </fieldset>
      <Field id={id("not_before")} label="Not before (UTC)">
        <input id={id("not_before")} name={id("not_before")} type="datetime-local" data-param={`${props.param}.not_before`} />
      </Field>
      <Field id={id("not_after")} label="Not after (UTC)">
        <input id={id("not_after")} name={id("not_after")} type="datetime-local" data-param={`${props.param}.not_after`} />
      </Field>
    </fieldset>
  );
}

/**
 * A list the page's script fills: a caption, column headers, an empty `<tbody id={rows}>`, and, when given, the line
 * shown while the list is empty (the script unhides it).
 */
export function Table(props: { id?: string; caption: string; columns: string[]; rows: string; empty?: { id: string; text: string } }) {
  return (
    <>
      <table id={props.id}>
        <caption class="muted">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th scope="col">{column}</th>
            ))}
          </tr>
        </thead>
        <tbody id={props.rows}></tbody>
      </table>
      {props.empty ? (
        <p id={props.empty.id} class="muted" hidden>
          {props.empty.text}
        </p>
      ) : null}
    </>
  );
}

/** The two permission sets, as options: for a standalone key's select and a policy rule's alike. */
export function PermissionSetOptions() {
  return (
    <>
      <option value="InferenceFullAccess">InferenceFullAccess: every path the deployment allows</option>
      <option value="InferenceReadOnly">InferenceReadOnly: model discovery only (GET /v1/models)</option>
    </>
  );
}
