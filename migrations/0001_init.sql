-- keygate schema, version 1. docs/storage.md explains every table and invariant.
-- Times are RFC 3339 UTC strings with milliseconds ("2026-11-22T14:25:53.000Z"), so they sort as text.

CREATE TABLE projects (
  id          TEXT PRIMARY KEY,                 -- prj_…
  slug        TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL,
  created_at  TEXT NOT NULL
);

CREATE TABLE deployments (
  id             TEXT PRIMARY KEY,              -- dep_…
  project_id     TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  slug           TEXT NOT NULL,
  name           TEXT NOT NULL,
  origin_url     TEXT NOT NULL,
  origin_headers TEXT NOT NULL DEFAULT '{}',    -- JSON object name→value; values are write-only in the API
  model          TEXT,
  allowed_paths  TEXT NOT NULL,                 -- JSON array of exact paths or prefixes ending in '*'
  auth_enabled   INTEGER NOT NULL DEFAULT 1 CHECK (auth_enabled IN (0, 1)),
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  UNIQUE (project_id, slug)
);

CREATE TABLE api_keys (
  id             TEXT PRIMARY KEY,              -- key_…
  project_id     TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  description    TEXT,
  start          TEXT NOT NULL,                 -- first 12 characters of the current secret
  all_deployments INTEGER NOT NULL DEFAULT 0 CHECK (all_deployments IN (0, 1)),  -- scope "{project}/*"
  conditions     TEXT NOT NULL DEFAULT '{}',    -- JSON, canonical (CIDRs normalised at write time)
  expires_at     TEXT,
  revoked_at     TEXT,
  last_used_at   TEXT,
  request_count  INTEGER NOT NULL DEFAULT 0,
  created_at     TEXT NOT NULL
);
CREATE INDEX api_keys_project ON api_keys (project_id, id);

-- A key's secrets. Normally one; after a roll with a grace period the old one stays until retire_at.
CREATE TABLE api_key_secrets (
  hash          TEXT PRIMARY KEY,               -- hex HMAC-SHA-256(pepper, secret), or SHA-256 when hash_version = 0
  hash_version  INTEGER NOT NULL,               -- 0: SHA-256, 1: HMAC-SHA-256 keyed by KEY_PEPPER
  key_id        TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  retire_at     TEXT,                           -- NULL: current secret; else it stops working at this instant
  created_at    TEXT NOT NULL
);
CREATE INDEX api_key_secrets_key ON api_key_secrets (key_id);

-- Links a key to individual deployments (scopes "{project}/{deployment}").
CREATE TABLE api_key_deployments (
  key_id         TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  deployment_id  TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
  PRIMARY KEY (key_id, deployment_id)
);
CREATE INDEX api_key_deployments_deployment ON api_key_deployments (deployment_id);

CREATE TABLE management_tokens (
  id            TEXT PRIMARY KEY,               -- tok_…
  project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('full', 'read_only')),
  hash          TEXT NOT NULL UNIQUE,
  hash_version  INTEGER NOT NULL,
  start         TEXT NOT NULL,
  expires_at    TEXT,
  revoked_at    TEXT,
  created_at    TEXT NOT NULL
);
CREATE INDEX management_tokens_project ON management_tokens (project_id, id);

-- Kept when a project is deleted: history outlives what it describes. project_id is the id, not the slug,
-- so a new project that reuses a slug does not inherit the old one's history.
CREATE TABLE audit_events (
  id          TEXT PRIMARY KEY,                 -- evt_… (time-ordered)
  project_id  TEXT NOT NULL,
  actor       TEXT NOT NULL,                    -- "admin", "access:<email>", or "token:<tok_id>"
  action      TEXT NOT NULL,                    -- e.g. "key.create"
  target      TEXT NOT NULL,                    -- the id acted on
  request_id  TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
CREATE INDEX audit_events_project ON audit_events (project_id, id);
