-- IAM: applications (non-human principals), their policies, and the ordered rules that grant a permission set on
-- deployments. A key is either standalone (its own scopes and permission_set) or made for an application (no scopes
-- of its own: it inherits the application's rules). docs/storage.md explains every table and invariant.

CREATE TABLE applications (
  id           TEXT PRIMARY KEY,                -- app_…
  project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  description  TEXT,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  UNIQUE (project_id, name)
);
CREATE INDEX applications_project ON applications (project_id, id);

CREATE TABLE policies (
  id              TEXT PRIMARY KEY,             -- pol_… (time-ordered: an application's policies apply in id order)
  project_id      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  application_id  TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  description     TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  UNIQUE (project_id, name)
);
CREATE INDEX policies_project ON policies (project_id, id);
CREATE INDEX policies_application ON policies (application_id, id);

-- A policy's rules, in order (position 0, 1, …). A PATCH of `rules` replaces all of a policy's rows.
CREATE TABLE policy_rules (
  policy_id        TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
  position         INTEGER NOT NULL,
  permission_set   TEXT NOT NULL CHECK (permission_set IN ('InferenceFullAccess', 'InferenceReadOnly')),
  all_deployments  INTEGER NOT NULL DEFAULT 0 CHECK (all_deployments IN (0, 1)),  -- deployments: ["*"]
  conditions       TEXT NOT NULL DEFAULT '{}',  -- JSON, canonical, as on keys
  PRIMARY KEY (policy_id, position)
);

-- The deployments a rule names one by one. Deleting a deployment deletes its rows here, so it leaves every rule.
CREATE TABLE policy_rule_deployments (
  policy_id      TEXT NOT NULL,
  position       INTEGER NOT NULL,
  deployment_id  TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
  PRIMARY KEY (policy_id, position, deployment_id),
  FOREIGN KEY (policy_id, position) REFERENCES policy_rules (policy_id, position) ON DELETE CASCADE
);
CREATE INDEX policy_rule_deployments_deployment ON policy_rule_deployments (deployment_id);

-- application_id: NULL for a standalone key. No foreign key: a key revoked with its deleted application keeps
-- naming it, so its history still reads. permission_set: a standalone key's (every key before this migration has
-- full access, as before); NULL for an application key, whose rules carry theirs.
ALTER TABLE api_keys ADD COLUMN application_id TEXT;
ALTER TABLE api_keys ADD COLUMN permission_set TEXT DEFAULT 'InferenceFullAccess'
  CHECK (permission_set IN ('InferenceFullAccess', 'InferenceReadOnly'));
CREATE INDEX api_keys_application ON api_keys (application_id);

-- The project's revision: raised by every management write, in that write's own transaction. Every write records
-- exactly one audit event per change in the same batch (src/store/audit.ts), so the audit insert raises it: one
-- home for the rule, and no write can forget it.
ALTER TABLE projects ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER audit_event_raises_revision AFTER INSERT ON audit_events
BEGIN
  UPDATE projects SET revision = revision + 1 WHERE id = NEW.project_id;
END;
