/**
 * Usage: requests and tokens per UTC day, filtered by days, key and deployment. A chart (inline SVG, drawn here with
 * createElementNS: no library) stacks each day's prompt, completion and estimated tokens, with its data in a table
 * beside it; below, the same period per key and day. The filters are kept in the URL, so a view can be linked to.
 */
import { Field, Page, type PageProps, Table } from "../layout";

const SCRIPT = String.raw`
await start();
const form = document.getElementById("usage-filters");
const keySelect = document.getElementById("usage-key");
const deploymentSelect = document.getElementById("usage-deployment");
const DAY = 86400000;
const PARTS = [["prompt_tokens", "#0b57b7", "Prompt"], ["completion_tokens", "#b35900", "Completion"], ["estimated_tokens", "#6b6b76", "Estimated"]];
const compact = (n) => new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(n);
const day = (millis) => new Date(millis).toISOString().slice(0, 10);
const total = (r) => r.prompt_tokens + r.completion_tokens + r.estimated_tokens;
let keys = [];

const [keyList, deploymentList] = await Promise.all([listAll(P("/keys")), listAll(P("/deployments"))]);
keys = keyList;
const keyName = (id) => {
  if (!id) return "no key (auth off)";
  const k = keys.find((key) => key.id === id);
  return k ? secretLabel(k) : id;
};
keySelect.replaceChildren(el("option", { value: "" }, "All keys"), ...keys.map((k) => el("option", { value: k.id }, keyName(k.id) + (k.revoked_at ? ", revoked" : ""))));
deploymentSelect.replaceChildren(el("option", { value: "" }, "All deployments"), ...deploymentList.map((d) => el("option", { value: d.slug }, d.slug)));

// The filters: from the URL, else the last 30 days up to today (UTC), as the API's default.
const query = new URLSearchParams(location.search);
const today = day(Date.now());
form.elements.from.value = query.get("from") || day(Date.now() - 29 * DAY);
form.elements.to.value = query.get("to") || today;
if (query.get("key_id")) keySelect.value = query.get("key_id");
if (query.get("deployment")) deploymentSelect.value = query.get("deployment");

async function show() {
  const data = new FormData(form);
  const params = new URLSearchParams();
  for (const name of ["from", "to", "key_id", "deployment"]) if (data.get(name)) params.set(name, String(data.get(name)));
  history.replaceState(null, "", location.pathname + "?" + params);
  const rows = await listAll(P("/usage?" + params));
  const to = String(data.get("to") || today);
  const from = String(data.get("from") || day(Date.parse(to + "T00:00:00Z") - 29 * DAY));
  const who = data.get("key_id") ? "key " + keyName(String(data.get("key_id"))) : "all keys";
  const where = data.get("deployment") ? " on deployment " + data.get("deployment") : "";

  // Per day, every day of the period (a day without requests is a zero).
  const byDay = new Map();
  for (let t = Date.parse(from + "T00:00:00Z"); t <= Date.parse(to + "T00:00:00Z"); t += DAY) {
    byDay.set(day(t), { date: day(t), requests: 0, prompt_tokens: 0, completion_tokens: 0, estimated_tokens: 0 });
  }
  for (const r of rows) {
    const d = byDay.get(r.date);
    if (!d) continue;
    d.requests += r.requests;
    for (const [part] of PARTS) d[part] += r[part];
  }
  const series = [...byDay.values()];
  drawChart(series, "Tokens per day for " + who + where + ", " + from + " to " + to + " (UTC)");
  drawDays(series.filter((d) => d.requests > 0 || total(d) > 0));

  // Per key and day (the deployments summed).
  const byKey = new Map();
  for (const r of rows) {
    const id = r.date + " " + (r.key_id || "");
    const k = byKey.get(id) || { date: r.date, key_id: r.key_id, deployments: new Set(), requests: 0, prompt_tokens: 0, completion_tokens: 0, estimated_tokens: 0 };
    k.deployments.add(r.deployment);
    k.requests += r.requests;
    for (const [part] of PARTS) k[part] += r[part];
    byKey.set(id, k);
  }
  const perKey = [...byKey.values()].sort((a, b) => (a.date === b.date ? keyName(a.key_id).localeCompare(keyName(b.key_id)) : a.date < b.date ? 1 : -1));
  document.getElementById("usage-rows").replaceChildren(...perKey.map((k) => el("tr", {},
    el("td", {}, k.date),
    el("td", {}, keyName(k.key_id)),
    el("td", {}, [...k.deployments].sort().join(", ")),
    el("td", { class: "num" }, fmt(k.requests)),
    el("td", { class: "num" }, fmt(k.prompt_tokens)),
    el("td", { class: "num" }, fmt(k.completion_tokens)),
    el("td", { class: "num" }, fmt(k.estimated_tokens)),
    el("td", { class: "num" }, fmt(total(k))))));
  document.getElementById("usage-empty").hidden = perKey.length > 0;
  const sum = series.reduce((n, d) => n + total(d), 0), requests = series.reduce((n, d) => n + d.requests, 0);
  document.getElementById("usage-summary").textContent = fmt(requests) + " requests and " + fmt(sum) + " tokens for " + who + where + " from " + from + " to " + to + " (UTC).";
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

/** A round step (1, 2 or 5 times a power of ten) for at most four gridlines above zero. */
function niceStep(max) {
  const rough = Math.max(1, max / 4);
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
}

function drawChart(series, title) {
  const W = 760, H = 290, left = 64, right = 12, top = 36, bottom = 48;
  const plotW = W - left - right, plotH = H - top - bottom;
  const max = Math.max(0, ...series.map(total));
  const step = niceStep(max), ceiling = step * Math.max(1, Math.ceil(max / step));
  const y = (v) => top + plotH - (v / ceiling) * plotH;
  const slot = plotW / series.length, barW = Math.max(1, Math.min(28, slot * 0.75));
  const busiest = series.reduce((best, d) => (total(d) > total(best) ? d : best), series[0]);
  const sums = PARTS.map(([part]) => series.reduce((n, d) => n + d[part], 0));
  const description = max === 0
    ? "No tokens in this period."
    : "Stacked bars, one per UTC day: prompt, completion and estimated tokens. In all " + fmt(sums[0] + sums[1] + sums[2]) + " tokens (" +
      fmt(sums[0]) + " prompt, " + fmt(sums[1]) + " completion, " + fmt(sums[2]) + " estimated); the busiest day was " + busiest.date + " with " + fmt(total(busiest)) + ".";
  const root = svg("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", "aria-labelledby": "usage-chart-title usage-chart-desc" },
    svg("title", { id: "usage-chart-title" }, title),
    svg("desc", { id: "usage-chart-desc" }, description));
  for (let v = 0; v <= ceiling; v += step) {
    root.append(svg("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), stroke: "#e2e2e8" }),
      svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, compact(v)));
  }
  series.forEach((d, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    let base = 0;
    for (const [part, color, label] of PARTS) {
      const v = d[part];
      if (!v) continue;
      root.append(svg("rect", { x, y: y(base + v), width: barW, height: Math.max(0.5, y(base) - y(base + v)), fill: color }, svg("title", {}, d.date + ": " + fmt(v) + " " + label.toLowerCase() + " tokens")));
      base += v;
    }
  });
  const every = Math.ceil(series.length / 10);
  series.forEach((d, i) => {
    if (i % every === 0) root.append(svg("text", { x: left + i * slot + slot / 2, y: top + plotH + 16, "text-anchor": "middle" }, d.date.slice(5)));
  });
  root.append(
    svg("line", { x1: left, x2: left, y1: top, y2: top + plotH, stroke: "#555" }),
    svg("line", { x1: left, x2: W - right, y1: top + plotH, y2: top + plotH, stroke: "#555" }),
    svg("text", { x: left + plotW / 2, y: H - 8, "text-anchor": "middle" }, "Day (UTC, month-day)"),
    svg("text", { x: 14, y: top + plotH / 2, "text-anchor": "middle", transform: "rotate(-90 14 " + (top + plotH / 2) + ")" }, "Tokens"));
  let lx = left;
  for (const [, color, label] of PARTS) {
    root.append(svg("rect", { x: lx, y: 10, width: 12, height: 12, fill: color }), svg("text", { x: lx + 17, y: 20 }, label));
    lx += 17 + label.length * 7 + 22;
  }
  document.getElementById("usage-chart").replaceChildren(root);
}

function drawDays(days) {
  document.getElementById("usage-days-rows").replaceChildren(...days.map((d) => el("tr", {},
    el("th", { scope: "row" }, d.date),
    el("td", { class: "num" }, fmt(d.prompt_tokens)),
    el("td", { class: "num" }, fmt(d.completion_tokens)),
    el("td", { class: "num" }, fmt(d.estimated_tokens)),
    el("td", { class: "num" }, fmt(total(d))))));
  document.getElementById("usage-days-empty").hidden = days.length > 0;
}

onSubmit(form, show);
try { await show(); } catch (error) { if (error instanceof ApiError) showError(form, error); else throw error; }
`;

export function Usage(props: Omit<PageProps, "title" | "script" | "children">) {
  return (
    <Page {...props} title="Usage" script={SCRIPT}>
      <p class="muted">
        Requests and tokens per UTC day, from the origins' own counts (estimated from the bytes seen when an origin reports
        none). A request is here within a minute of its end.
      </p>
      <form method="post" id="usage-filters" class="card filters" novalidate aria-label="Usage filters">
        <p class="form-error" role="alert" hidden></p>
        <Field id="usage-from" label="From (UTC day)">
          <input id="usage-from" name="from" type="date" data-param="from" />
        </Field>
        <Field id="usage-to" label="To (UTC day, inclusive)">
          <input id="usage-to" name="to" type="date" data-param="to" />
        </Field>
        <Field id="usage-key" label="Key">
          <select id="usage-key" name="key_id" data-param="key_id"></select>
        </Field>
        <Field id="usage-deployment" label="Deployment">
          <select id="usage-deployment" name="deployment" data-param="deployment"></select>
        </Field>
        <div class="actions">
          <button id="usage-submit" type="submit" class="primary">
            Show usage
          </button>
        </div>
      </form>
      <p id="usage-summary" role="status"></p>
      <h2>Tokens per day</h2>
      <div class="chart-wrap">
        <figure id="usage-chart" class="chart"></figure>
        <div class="scroll" role="region" aria-label="Tokens per day, as a table" tabindex={0}>
          <Table id="usage-days" caption="The chart's data: days with requests" columns={["Day", "Prompt", "Completion", "Estimated", "Total"]} rows="usage-days-rows" empty={{ id: "usage-days-empty", text: "No requests in this period." }} />
        </div>
      </div>
      <h2>Per key and day</h2>
      <Table id="usage-table" caption="Requests and tokens per key and UTC day, newest day first (the deployments summed)" columns={["Day", "Key", "Deployments", "Requests", "Prompt tokens", "Completion tokens", "Estimated tokens", "Total tokens"]} rows="usage-rows" empty={{ id: "usage-empty", text: "No usage in this period." }} />
    </Page>
  );
}
