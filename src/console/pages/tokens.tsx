/**
 * Management tokens: the list (revoked ones stay in it), a form to create one, whose secret is shown once in the
 * show-once dialog, and revocation (which takes every token it created with it).
 */
import { Field, Page, type PageProps, Table } from "../layout";
import { SECRET_DIALOG_SCRIPT, SecretDialog } from "../secret-dialog";

const SCRIPT = String.raw`
const me = await start();
const form = document.getElementById("token-form");

async function load() {
  const list = await listAll(P("/tokens"));
  const now = Date.now();
  document.getElementById("tokens-rows").replaceChildren(...list.map((t) => {
    const status = keyStatus(t, now);
    return el("tr", {},
      el("th", { scope: "row" }, t.name),
      el("td", {}, el("code", {}, t.start + "…")),
      el("td", {}, t.role === "full" ? "full" : "read-only"),
      el("td", {}, t.expires_at ? when(t.expires_at) : "never"),
      el("td", {}, el("span", { class: "badge " + status }, status), t.revoked_at ? el("div", { class: "muted" }, when(t.revoked_at)) : null),
      el("td", {}, when(t.created_at), t.created_by ? el("div", { class: "muted" }, "by " + t.created_by) : null),
      el("td", {}, t.revoked_at ? null : el("button", { type: "button", class: "danger", "data-write": true, "aria-label": "Revoke token " + t.name, onclick: () => revoke(t) }, "Revoke")));
  }));
  document.getElementById("tokens-empty").hidden = list.length > 0;
}

async function revoke(t) {
  const current = token();
  const self = me.kind === "token" && current && current.startsWith(t.start);
  const ok = await confirmAction("Revoke management token " + secretLabel(t) + "? Every token it created is revoked too, and the next request with any of them gets 401. Keys it made keep working." +
    (self ? " This is the token you are signed in with: the console will sign you out." : ""), "Revoke token");
  if (!ok) return;
  await api("DELETE", P("/tokens/" + encodeURIComponent(t.id)));
  toast("Token " + t.name + " revoked.");
  await load();
}

onSubmit(form, async (data) => {
  const payload = { name: String(data.get("name") || "").trim(), role: String(data.get("role")) };
  const expires = String(data.get("expires_at") || "");
  if (expires) payload.expires_at = instant(expires);
  const created = await api("POST", P("/tokens"), payload);
  form.reset();
  const origin = location.origin;
  await showSecret({
    title: "Management token " + created.name + " (" + (created.role === "full" ? "full" : "read-only") + ")",
    secret: created.token,
    snippets: [
      { label: "curl", code: "curl " + origin + "/admin/v1" + P("/deployments") + " \\\n  -H 'Authorization: Bearer " + created.token + "'" },
      { label: "keygate CLI", code: "KEYGATE_BASE_URL=" + origin + " KEYGATE_PROJECT=" + PROJECT + " KEYGATE_TOKEN=" + created.token + " npx keygate deployments list" },
    ],
  });
  toast("Token " + created.name + " created.");
  await load();
});

await load();
`;

export function Tokens(props: Omit<PageProps, "title" | "script" | "children">) {
  return (
    <Page {...props} title="Management tokens" script={SECRET_DIALOG_SCRIPT + SCRIPT}>
      <p class="muted">
        A management token (ik_sdk_…) manages this project only, through the API, the CLI or this console. It can never call a
        deployment. Revoked tokens stay in the list.
      </p>
      <Table id="tokens-table" caption="The project's management tokens" columns={["Name", "Start", "Role", "Expires", "Status", "Created", "Actions"]} rows="tokens-rows" empty={{ id: "tokens-empty", text: "No management tokens yet." }} />
      <h2 id="token-form-title">Create a management token</h2>
      <form method="post" id="token-form" class="card" novalidate aria-labelledby="token-form-title">
        <p class="form-error" role="alert" hidden></p>
        <Field id="token-name" label="Name">
          <input id="token-name" name="name" data-param="name" required autocomplete="off" />
        </Field>
        <Field id="token-role" label="Role">
          <select id="token-role" name="role" data-param="role">
            <option value="full">full: reads and changes everything in the project</option>
            <option value="read_only">read-only: reads everything, changes nothing</option>
          </select>
        </Field>
        <Field
          id="token-expires"
          label="Expires (UTC, optional)"
          hint="Empty: never, or, when a management token creates it, when that token expires (a token cannot outlive its creator)."
        >
          <input id="token-expires" name="expires_at" type="datetime-local" data-param="expires_at" aria-describedby="token-expires-hint" />
        </Field>
        <div class="actions">
          <button id="token-submit" type="submit" class="primary" data-write>
            Create token
          </button>
        </div>
      </form>
      <SecretDialog />
    </Page>
  );
}
