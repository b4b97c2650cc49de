/**
 * The audit log, newest first, a page at a time ("Load more" follows next_cursor). Ids of tokens, keys, applications,
 * policies and deployments that still exist are shown with their names.
 */
import { Page, type PageProps, Table } from "../layout";

const SCRIPT = String.raw`
await start();
const rows = document.getElementById("audit-rows");
const more = document.getElementById("audit-more");
const status = document.getElementById("audit-status");
const PAGE = 50;
let cursor = null, shown = 0;

// Names for the ids events carry (what has been deleted since shows as its id alone).
const names = new Map();
const lists = await Promise.all(["/tokens", "/keys", "/applications", "/policies", "/deployments"].map((path) => listAll(P(path)).catch(() => [])));
for (const list of lists) for (const item of list) names.set(item.id, item.name || item.slug);
const named = (id) => (names.has(id) ? [el("code", {}, id), " ", el("span", { class: "muted" }, names.get(id))] : [el("code", {}, id)]);
function actor(text) {
  const id = text.startsWith("token:") ? text.slice(6) : null;
  return id && names.has(id) ? [el("code", {}, text), " ", el("span", { class: "muted" }, names.get(id))] : [el("code", {}, text)];
}

async function loadMore() {
  const page = await api("GET", P("/audit?limit=" + PAGE + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "")));
  rows.append(...page.data.map((e) => el("tr", {},
    el("td", {}, when(e.created_at)),
    el("td", {}, actor(e.actor)),
    el("td", {}, el("code", {}, e.action)),
    el("td", {}, named(e.target)),
    el("td", {}, el("code", {}, e.request_id)))));
  shown += page.data.length;
  cursor = page.has_more ? page.next_cursor : null;
  more.hidden = !cursor;
  document.getElementById("audit-empty").hidden = shown > 0;
  status.textContent = shown === 0 ? "" : "Showing the newest " + shown + " event" + (shown === 1 ? "" : "s") + (cursor ? "; there are more." : ": that is all of them.");
}

more.addEventListener("click", async () => {
  more.disabled = true;
  try { await loadMore(); } finally { more.disabled = false; }
  if (more.hidden) status.focus();
});

await loadMore();
`;

export function Audit(props: Omit<PageProps, "title" | "script" | "children">) {
  return (
    <Page {...props} title="Audit log" script={SCRIPT}>
      <p class="muted">
        Every change to the project, committed with its event: who made it (the actor), what it did, what it acted on, and the
        request id of the answer that made it.
      </p>
      <Table id="audit-table" caption="Audit events, newest first" columns={["When (UTC)", "Actor", "Action", "Target", "Request id"]} rows="audit-rows" empty={{ id: "audit-empty", text: "No audit events yet." }} />
      <p id="audit-status" class="muted" role="status" tabindex={-1}></p>
      <div class="actions">
        <button id="audit-more" type="button" hidden>
          Load more
        </button>
      </div>
    </Page>
  );
}
