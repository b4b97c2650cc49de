-- Endpoints and the operator's emergency controls. docs/storage.md explains every column.

-- Each deployment has a public endpoint (`/endpoint/…` and host-based URLs) and a private one (the PrivateEndpoint
-- service-binding entrypoint, or PRIVATE_HOSTNAME with a verified client certificate), each with its own switch and
-- API-key auth toggle. The public endpoint's auth toggle stays `auth_enabled`. Existing deployments: public on,
-- private off. "At least one endpoint enabled" is checked by the API (a CHECK across added columns cannot be).
ALTER TABLE deployments ADD COLUMN public_enabled INTEGER NOT NULL DEFAULT 1 CHECK (public_enabled IN (0, 1));
ALTER TABLE deployments ADD COLUMN private_enabled INTEGER NOT NULL DEFAULT 0 CHECK (private_enabled IN (0, 1));
ALTER TABLE deployments ADD COLUMN private_auth_enabled INTEGER NOT NULL DEFAULT 1 CHECK (private_auth_enabled IN (0, 1));
-- JSON array of lower-case hex SHA-256 fingerprints; NULL: any certificate the edge verified.
ALTER TABLE deployments ADD COLUMN client_cert_fingerprints TEXT;
-- 1: every forwarded request carries a Keygate-Assertion JWT (when ASSERTION_SIGNING_KEY is set).
ALTER TABLE deployments ADD COLUMN origin_assertion INTEGER NOT NULL DEFAULT 0 CHECK (origin_assertion IN (0, 1));

-- The kill switch: 1 refuses every data-plane request to the project's deployments (403 project_suspended).
ALTER TABLE projects ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1));
