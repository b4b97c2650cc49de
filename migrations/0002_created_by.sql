-- Who made each API key and management token: the audit actor of the request that created it ("admin",
-- "access:<email>", "token:<tok_…>"). NULL for rows made before this migration. Revoking a token revokes every token
-- whose created_by names it, transitively; the lists filter on it, so what a leaked token made can be found.
ALTER TABLE api_keys ADD COLUMN created_by TEXT;
ALTER TABLE management_tokens ADD COLUMN created_by TEXT;
CREATE INDEX api_keys_created_by ON api_keys (project_id, created_by);
CREATE INDEX management_tokens_created_by ON management_tokens (project_id, created_by);
