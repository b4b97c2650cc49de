/** keygate usage, audit and explain: what happened, and what would happen. */
import type { AuditEvent, ExplainRequest, UsageRecord } from "../../sdk/index.ts";
import type { Command } from "../command.ts";
import type { Column } from "../output.ts";
import { args, data, DATA_DETAILS, DATA_OPTIONS, defined, LIST_DETAILS, LIST_OPTIONS, oneOf, positiveInteger, rows, string } from "./common.ts";

const USAGE_COLUMNS: Column<UsageRecord>[] = [
  { header: "DATE", value: (u) => u.date },
  { header: "DEPLOYMENT", value: (u) => u.deployment },
  { header: "KEY", value: (u) => u.key_id ?? "(auth off)" },
  { header: "REQUESTS", value: (u) => u.requests },
  { header: "PROMPT", value: (u) => u.prompt_tokens },
  { header: "COMPLETION", value: (u) => u.completion_tokens },
  { header: "ESTIMATED", value: (u) => u.estimated_tokens },
];

const AUDIT_COLUMNS: Column<AuditEvent>[] = [
  { header: "TIME", value: (e) => e.created_at },
  { header: "ACTOR", value: (e) => e.actor },
  { header: "ACTION", value: (e) => e.action },
  { header: "TARGET", value: (e) => e.target },
  { header: "REQUEST ID", value: (e) => e.request_id },
];

export const insightCommands: Command[] = [
  {
    name: "usage",
    summary: "Requests and tokens per UTC day, deployment and key",
    usage: "[--from YYYY-MM-DD] [--to YYYY-MM-DD] [--key KEY_ID] [--deployment D] [--limit N]",
    details: `  --from DAY, --to DAY   UTC days, inclusive (default: the last 30 days up to today)
  --key KEY_ID           only this key
  --deployment D         only this deployment
${LIST_DETAILS}

Example (total tokens this month):
  keygate usage --from 2026-12-01 --json | jq '[.[] | .prompt_tokens + .completion_tokens] | add'`,
    options: { ...LIST_OPTIONS, from: { type: "string" }, to: { type: "string" }, key: { type: "string" }, deployment: { type: "string" } },
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      const filter = defined({ from: string(values, "from"), to: string(values, "to"), key_id: string(values, "key"), deployment: string(values, "deployment") });
      out.list(await rows(values, (query) => client().usage({ ...query, ...filter }), 1000), USAGE_COLUMNS);
    },
  },
  {
    name: "audit",
    summary: "The project's audit log, newest first",
    usage: "[--limit N]",
    details: `${LIST_DETAILS}\n\nExample:\n  keygate audit --limit 20`,
    options: LIST_OPTIONS,
    async run({ client, out }, { positionals, values }) {
      args(positionals);
      out.list(await rows(values, (query) => client().audit(query)), AUDIT_COLUMNS);
    },
  },
  {
    name: "explain",
    summary: "Would the data plane allow this key on this deployment, and why? (sends no request, writes nothing)",
    usage: "<key_id> <deployment> [--method M] [--path P] [--endpoint public|private] [--client-ip IP] [--country CC] [--asn N] [--user-agent UA] [--at TIME]",
    details: `  --method M          default POST
  --path P            after the deployment's base URL; default /v1/chat/completions
  --endpoint E        public (default) or private
  --client-cert-fingerprint SHA256   with --endpoint private: as a request with this verified client certificate
  --client-ip IP, --country CC, --asn N, --user-agent UA   what the edge would see; left out = unknown
  --at TIME           decide at this RFC 3339 instant (default: now)
${DATA_DETAILS}

Exit code 0 whenever keygate answered, allowed or not: read "allowed" (e.g. --json | jq -e .allowed).

Example:
  keygate explain key_… chat --path /v1/models --client-ip 203.0.113.7`,
    options: {
      method: { type: "string" },
      path: { type: "string" },
      endpoint: { type: "string" },
      "client-cert-fingerprint": { type: "string" },
      "client-ip": { type: "string" },
      country: { type: "string" },
      asn: { type: "string" },
      "user-agent": { type: "string" },
      at: { type: "string" },
      ...DATA_OPTIONS,
    },
    async run({ client, out }, { positionals, values }) {
      const { key_id, deployment } = args(positionals, "key_id", "deployment");
      const body = {
        ...data(values),
        key_id,
        deployment,
        ...defined({
          method: string(values, "method"),
          path: string(values, "path"),
          endpoint: oneOf(values, "endpoint", ["public", "private"] as const),
          client_cert_fingerprint: string(values, "client-cert-fingerprint"),
          client_ip: string(values, "client-ip"),
          country: string(values, "country"),
          asn: values.asn === undefined ? undefined : positiveInteger(values.asn, "--asn", 0),
          user_agent: string(values, "user-agent"),
          at: string(values, "at"),
        }),
      };
      out.object(await client().explain(body as ExplainRequest));
    },
  },
];
