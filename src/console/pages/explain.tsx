/**
 * Explain: describe a request (key, deployment, method, path, endpoint and the client's facts) and see what the data
 * plane would answer, and which policy rule decided it, without sending one. It only reads, so a read-only token may
 * use it: its button is not a write. `?key_id=` and `?deployment=` preselect the two choices.
 */
import { Field, Page, type PageProps } from "../layout";

const SCRIPT = String.raw`
await start();
const form = document.getElementById("explain-form");
const keySelect = document.getElementById("explain-key");
const deploymentSelect = document.getElementById("explain-deployment");
const [keys, deployments, applications] = await Promise.all([listAll(P("/keys")), listAll(P("/deployments")), listAll(P("/applications"))]);

const appName = (id) => { const a = applications.find((app) => app.id === id); return a ? a.name : id; };
const keyLabel = (k) => secretLabel(k) + (k.application_id ? ", application " + appName(k.application_id) : "") + (k.revoked_at ? ", revoked" : "");
keySelect.replaceChildren(...(keys.length ? keys.map((k) => el("option", { value: k.id }, keyLabel(k))) : [el("option", { value: "" }, "No keys yet")]));
deploymentSelect.replaceChildren(...(deployments.length ? deployments.map((d) => el("option", { value: d.slug }, d.slug)) : [el("option", { value: "" }, "No deployments yet")]));
const query = new URLSearchParams(location.search);
if (query.get("key_id")) keySelect.value = query.get("key_id");
if (query.get("deployment")) deploymentSelect.value = query.get("deployment");

const text = (data, name) => String(data.get(name) || "").trim();

onSubmit(form, async (data) => {
  const payload = { key_id: text(data, "key_id"), deployment: text(data, "deployment"), endpoint: text(data, "endpoint") || "public" };
  for (const name of ["method", "path", "client_cert_fingerprint", "client_ip", "country", "user_agent"]) if (text(data, name)) payload[name] = text(data, name);
  const asn = text(data, "asn");
  if (asn) payload.asn = /^\d+$/.test(asn) ? Number(asn) : asn;
  if (text(data, "at")) payload.at = instant(text(data, "at"));
  const decision = await api("POST", P("/explain"), payload);
  await draw(decision, payload);
});

async function draw(d, asked) {
  const policy = d.policy_id ? await api("GET", P("/policies/" + encodeURIComponent(d.policy_id))).catch(() => null) : null;
  const key = keys.find((k) => k.id === d.key_id);
  const rows = [
    ["Decision", d.allowed ? "allowed: the data plane would forward this request" : "denied: the data plane would answer with an error"],
    ["Status", String(d.status)],
    ["Code", d.code || "—"],
    ["Message", d.message || "—"],
    ["Reason (log line)", d.reason || "—"],
    ["Key", key ? keyLabel(key) + " · " + d.key_id : d.key_id],
    ["Deployment", d.deployment],
    ["Request", (asked.method || "POST") + " " + (asked.path || "/v1/chat/completions") + " on the " + asked.endpoint + " endpoint" + (asked.at ? " at " + when(asked.at) : ", now")],
    ["Deciding policy", d.policy_id ? (policy ? policy.name + " · " + d.policy_id : d.policy_id) : "none: a standalone key, or no policy rule decided"],
  ];
  if (d.rule_index !== null) {
    const rule = policy && policy.rules[d.rule_index];
    const deps = rule ? (rule.deployments[0] === "*" ? "all deployments (*)" : rule.deployments.join(", ") || "no deployment") : "";
    rows.push(["Deciding rule", "rule " + (d.rule_index + 1) + (rule ? ": " + rule.permission_set + " on " + deps + "; conditions: " + describeConditions(rule.conditions) : "")]);
  }
  rows.push(["Project revision", d.revision === null ? "—" : String(d.revision)]);
  document.getElementById("explain-verdict").replaceChildren(
    el("span", { class: "badge " + (d.allowed ? "active" : "revoked") }, d.allowed ? "allowed" : "denied"), " ",
    d.allowed ? "200: the request would reach the origin." : d.status + " " + d.code + ": " + d.message);
  document.getElementById("explain-details").replaceChildren(...rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
  const section = document.getElementById("explain-result");
  section.hidden = false;
  document.getElementById("explain-result-title").focus();
}

`;

export function Explain(props: Omit<PageProps, "title" | "script" | "children">) {
  return (
    <Page {...props} title="Explain" script={SCRIPT}>
      <p class="muted">
        What would the data plane answer to this request, and why? Explain decides as the data plane does, from the same
        records, without sending anything: no usage is counted and nothing is written. A read-only token may use it.
      </p>
      <form method="post" id="explain-form" class="card" novalidate aria-label="Request to explain">
        <p class="form-error" role="alert" hidden></p>
        <div class="grid">
          <Field id="explain-key" label="Key">
            <select id="explain-key" name="key_id" data-param="key_id"></select>
          </Field>
          <Field id="explain-deployment" label="Deployment">
            <select id="explain-deployment" name="deployment" data-param="deployment"></select>
          </Field>
          <Field id="explain-method" label="Method">
            <input id="explain-method" name="method" data-param="method" value="POST" list="explain-methods" autocomplete="off" />
          </Field>
          <Field id="explain-path" label="Path" hint="After the deployment's base URL, without a query.">
            <input id="explain-path" name="path" data-param="path" value="/v1/chat/completions" autocomplete="off" />
          </Field>
          <Field id="explain-endpoint" label="Endpoint">
            <select id="explain-endpoint" name="endpoint" data-param="endpoint">
              <option value="public">public (/endpoint/…)</option>
              <option value="private">private (service binding, or PRIVATE_HOSTNAME)</option>
            </select>
          </Field>
          <Field id="explain-fingerprint" label="Client certificate SHA-256 (private endpoint, optional)">
            <input id="explain-fingerprint" name="client_cert_fingerprint" data-param="client_cert_fingerprint" autocomplete="off" />
          </Field>
        </div>
        <datalist id="explain-methods">
          <option value="GET"></option>
          <option value="HEAD"></option>
          <option value="POST"></option>
          <option value="PUT"></option>
          <option value="PATCH"></option>
          <option value="DELETE"></option>
          <option value="OPTIONS"></option>
        </datalist>
        <fieldset>
          <legend>What the edge knows about the client (optional: a fact left empty is unknown, and a condition on it fails)</legend>
          <div class="grid">
            <Field id="explain-client-ip" label="Client IP">
              <input id="explain-client-ip" name="client_ip" data-param="client_ip" autocomplete="off" />
            </Field>
            <Field id="explain-country" label="Country (ISO 3166-1 alpha-2)">
              <input id="explain-country" name="country" data-param="country" maxlength={2} autocomplete="off" />
            </Field>
            <Field id="explain-asn" label="ASN">
              <input id="explain-asn" name="asn" data-param="asn" inputmode="numeric" autocomplete="off" />
            </Field>
            <Field id="explain-user-agent" label="User agent">
              <input id="explain-user-agent" name="user_agent" data-param="user_agent" autocomplete="off" />
            </Field>
            <Field id="explain-at" label="At (UTC; empty: now)">
              <input id="explain-at" name="at" type="datetime-local" data-param="at" />
            </Field>
          </div>
        </fieldset>
        <div class="actions">
          <button id="explain-submit" type="submit" class="primary">
            Explain
          </button>
        </div>
      </form>
      <section id="explain-result" aria-labelledby="explain-result-title" hidden>
        <h2 id="explain-result-title" tabindex={-1}>
          Decision
        </h2>
        <p id="explain-verdict"></p>
        <dl id="explain-details" class="details"></dl>
      </section>
    </Page>
  );
}
