/**
 * Seeds a Miniflare D1 with the real migrations and rows written straight in SQL: one project, one deployment
 * pointing at the bench origin, and N API keys linked to it, one of which (`known`) the bench calls with; and an
 * application with one policy and one key (`application.secret`). A second deployment (`signedDeployment`) has the
 * same origin and `origin_assertion` on, and the known key linked: the same request, plus the signed assertion. The
 * key of its own (`budget.secret`, apart from the N, so no other measurement meets it) is covered by a hard token
 * budget far too large to run out: every request with it reserves in its BudgetCounter and settles after the answer.
 *
 * Secrets and hashes follow src/secrets/format.ts and src/secrets/hash.ts (prefix + 24 base62 + 6 base62 of
 * CRC-32; stored hash = hex HMAC-SHA-256 keyed by KEY_PEPPER, hash_version 1). The known key being accepted and
 * the unknown one being rejected is checked before any measurement, so a drift from the Worker shows up at once.
 */
import { createHmac, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(text) {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function checksumOf(head) {
  let n = crc32(head);
  let out = "";
  for (let i = 0; i < 6; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function randomText(alphabet, length) {
  let out = "";
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 256 - (256 % alphabet.length) && out.length < length) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}

/** KEY_PEPPER of every bench Worker: the seeded hashes are made with it. */
export const PEPPER = "bench-pepper-not-a-secret";

export function newSecret() {
  const head = "ik_live_" + randomText(BASE62, 24);
  return head + checksumOf(head);
}

/** A secret of the right shape whose checksum is wrong: rejected before any lookup. */
export function malformedSecret() {
  const good = newSecret();
  const last = good.at(-1) === "0" ? "1" : "0";
  return good.slice(0, -1) + last;
}

export function hashSecret(secret, pepper) {
  return createHmac("sha256", pepper).update(secret).digest("hex");
}

const newId = (prefix) => `${prefix}_${randomText(CROCKFORD, 26)}`;

/**
 * Every statement of migrations/*.sql, in file order, with comments removed. A trigger's body holds `;` of its own,
 * so a piece that begins a CREATE TRIGGER is joined with the pieces after it up to its END.
 */
export function migrationStatements(root) {
  const dir = join(root, "migrations");
  const pieces = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), "utf8").replace(/--[^\n]*/g, "").split(";"))
    .map((s) => s.trim())
    .filter(Boolean);
  const statements = [];
  let open = null;
  for (const piece of pieces) {
    if (open === null && !/^CREATE\s+TRIGGER\b/i.test(piece)) statements.push(piece);
    else open = open === null ? piece : `${open};\n${piece}`;
    if (open !== null && /\bEND$/i.test(open)) {
      statements.push(open);
      open = null;
    }
  }
  if (open !== null) throw new Error(`a CREATE TRIGGER without END in migrations/: ${open.slice(0, 80)}`);
  return statements;
}

/** The rows to insert, made once so every Worker instance gets the same data (and the same known key). */
export function makeSeed({ keys, pepper, originUrl, project = "bench", deployment = "chat", signedDeployment = "signed" }) {
  const now = new Date().toISOString();
  const projectId = newId("prj");
  const deploymentId = newId("dep");
  const signedDeploymentId = newId("dep");
  const known = newSecret();
  // An application key whose policy's granting rule comes after two that do not apply here: the decision walks
  // rules, so the bench sees what that costs.
  const appSecret = newSecret();
  const application = { id: newId("app"), policyId: newId("pol"), keyId: newId("key"), secret: appSecret, hash: hashSecret(appSecret, pepper) };
  const rows = [];
  for (let i = 0; i < keys; i++) {
    const secret = i === 0 ? known : newSecret();
    rows.push({ id: newId("key"), secret, start: secret.slice(0, 12), hash: hashSecret(secret, pepper) });
  }
  const allowed = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "/v1/models/*"];
  const budgetSecret = newSecret();
  const budget = { id: newId("bud"), keyId: newId("key"), secret: budgetSecret, hash: hashSecret(budgetSecret, pepper) };
  return { now, project, deployment, projectId, deploymentId, signedDeployment, signedDeploymentId, known, application, rows,
    budget, originUrl, allowedPaths: allowed };
}

const q = (v) => (v === null ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`);

function* insertChunks(table, columns, values, size = 500) {
  for (let i = 0; i < values.length; i += size) {
    const tuples = values.slice(i, i + size).map((v) => `(${v.map(q).join(",")})`);
    yield `INSERT INTO ${table} (${columns.join(",")}) VALUES ${tuples.join(",")}`;
  }
}

export async function applySeed(db, root, seed) {
  const { now, projectId, deploymentId, rows } = seed;
  const statements = [
    ...migrationStatements(root),
    `INSERT INTO projects (id, slug, name, created_at) VALUES (${[projectId, seed.project, "Bench", now].map(q)})`,
    `INSERT INTO deployments (id, project_id, slug, name, origin_url, origin_headers, model, allowed_paths,
       auth_enabled, created_at, updated_at) VALUES (${[deploymentId, projectId, seed.deployment, "Bench chat",
      seed.originUrl, "{}", null, JSON.stringify(seed.allowedPaths), 1, now, now].map(q)})`,
    ...insertChunks("api_keys", ["id", "project_id", "name", "start", "all_deployments", "conditions", "created_at"],
      rows.map((r, i) => [r.id, projectId, `bench key ${i}`, r.start, 0, "{}", now])),
    ...insertChunks("api_key_secrets", ["hash", "hash_version", "key_id", "created_at"],
      rows.map((r) => [r.hash, 1, r.id, now])),
    ...insertChunks("api_key_deployments", ["key_id", "deployment_id"], rows.map((r) => [r.id, deploymentId])),
    `INSERT INTO deployments (id, project_id, slug, name, origin_url, origin_headers, model, allowed_paths,
       auth_enabled, origin_assertion, created_at, updated_at) VALUES (${[seed.signedDeploymentId, projectId,
      seed.signedDeployment, "Bench chat, signed", seed.originUrl, "{}", null, JSON.stringify(seed.allowedPaths), 1, 1, now,
      now].map(q)})`,
    `INSERT INTO api_key_deployments (key_id, deployment_id) VALUES (${[rows[0].id, seed.signedDeploymentId].map(q)})`,
    ...applicationStatements(seed),
    ...budgetStatements(seed),
  ];
  await db.batch(statements.map((s) => db.prepare(s)));
  const count = await db.prepare("SELECT count(*) AS n FROM api_key_secrets").first("n");
  if (count !== rows.length + 2) throw new Error(`seeded ${count} keys, expected ${rows.length + 2}`);
}

/** The budgeted key, linked to the chat deployment, and its hard budget. */
function budgetStatements({ now, projectId, deploymentId, budget }) {
  return [
    `INSERT INTO api_keys (id, project_id, name, start, all_deployments, conditions, created_at)
       VALUES (${[budget.keyId, projectId, "bench budgeted key", budget.secret.slice(0, 12), 0, "{}", now].map(q)})`,
    `INSERT INTO api_key_secrets (hash, hash_version, key_id, created_at) VALUES (${[budget.hash, 1, budget.keyId, now].map(q)})`,
    `INSERT INTO api_key_deployments (key_id, deployment_id) VALUES (${[budget.keyId, deploymentId].map(q)})`,
    `INSERT INTO budgets (id, project_id, subject_type, subject_id, limit_tokens, period, mode, created_at, updated_at)
       VALUES (${[budget.id, projectId, "key", budget.keyId, 1e15, "total", "hard", now, now].map(q)})`,
  ];
}

/** The application, its policy of three rules (the last one grants), and its key. */
function applicationStatements({ now, projectId, deploymentId, application: app }) {
  const rules = [
    [0, "InferenceFullAccess", 0, "{}"], // names no deployment (as if its deployment was deleted)
    [1, "InferenceReadOnly", 1, "{}"], // covers, but a chat completion is not model discovery
    [2, "InferenceFullAccess", 1, JSON.stringify({ ip_allow: ["203.0.113.0/24"], countries: ["NL"] })],
  ];
  return [
    `INSERT INTO applications (id, project_id, name, created_at, updated_at) VALUES (${[app.id, projectId, "bench app", now, now].map(q)})`,
    `INSERT INTO policies (id, project_id, application_id, name, created_at, updated_at)
       VALUES (${[app.policyId, projectId, app.id, "bench policy", now, now].map(q)})`,
    ...rules.map(([position, set, all, conditions]) =>
      `INSERT INTO policy_rules (policy_id, position, permission_set, all_deployments, conditions)
         VALUES (${[app.policyId, position, set, all, conditions].map(q)})`),
    `INSERT INTO api_keys (id, project_id, name, start, all_deployments, conditions, created_at, application_id, permission_set)
       VALUES (${[app.keyId, projectId, "bench app key", app.secret.slice(0, 12), 0, "{}", now, app.id, null].map(q)})`,
    `INSERT INTO api_key_secrets (hash, hash_version, key_id, created_at) VALUES (${[app.hash, 1, app.keyId, now].map(q)})`,
  ];
}
