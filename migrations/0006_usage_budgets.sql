-- Usage and token budgets. docs/storage.md explains every column; docs/usage.md why usage is stored this way.

-- Streamed chat and completions ask the origin for `stream_options.include_usage` unless this is 0 (for origins that
-- reject the field); a hard budget reserves `default_max_tokens` for a request that names no max_tokens of its own
-- (NULL: keygate's default, docs/usage.md).
ALTER TABLE deployments ADD COLUMN inject_stream_usage INTEGER NOT NULL DEFAULT 1 CHECK (inject_stream_usage IN (0, 1));
ALTER TABLE deployments ADD COLUMN default_max_tokens INTEGER CHECK (default_max_tokens IS NULL OR default_max_tokens > 0);

-- A token budget's definition. What it has spent and reserved lives in its BudgetCounter Durable Object (the single
-- writer that keeps concurrent requests from overspending it); this row says which requests it covers.
-- subject_id: the key's id, the application's id, or the project's own id for a project budget.
CREATE TABLE budgets (
  id            TEXT PRIMARY KEY,
  project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  subject_type  TEXT NOT NULL CHECK (subject_type IN ('key', 'application', 'project')),
  subject_id    TEXT NOT NULL,
  limit_tokens  INTEGER NOT NULL CHECK (limit_tokens >= 0),
  period        TEXT NOT NULL CHECK (period IN ('day', 'month', 'total')),
  mode          TEXT NOT NULL CHECK (mode IN ('hard', 'soft')),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  -- One budget per subject and period: two daily limits on one key would only hide which one applies.
  UNIQUE (project_id, subject_type, subject_id, period)
);

-- Usage per project, UTC day, key and deployment: the sums of every request that ended that day, added to by
-- coalesced batches (src/gateway/usage.ts). key_id is '' for a request no key was needed for (auth off); deployment
-- is the slug the request named, so the history still reads after the deployment is deleted.
CREATE TABLE usage_daily (
  project_id         TEXT NOT NULL,
  date               TEXT NOT NULL,
  key_id             TEXT NOT NULL,
  deployment         TEXT NOT NULL,
  requests           INTEGER NOT NULL DEFAULT 0,
  prompt_tokens      INTEGER NOT NULL DEFAULT 0,
  completion_tokens  INTEGER NOT NULL DEFAULT 0,
  estimated_tokens   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (project_id, date, key_id, deployment)
) WITHOUT ROWID;
