-- Which revision each audit event made (docs/storage.md, "The project revision"). An isolate that holds a project's
-- records at revision R asks for the events after R when the revision has moved, and drops only the records those
-- events touched (src/store/revisions.ts): a key created, or another key revoked, no longer sends every isolate back
-- to D1 for every key of the project. Events written before this migration keep a NULL revision; an isolate that
-- finds the events after its revision incomplete drops the whole project, as before.
ALTER TABLE audit_events ADD COLUMN revision INTEGER;
CREATE INDEX audit_events_project_revision ON audit_events (project_id, revision);

DROP TRIGGER audit_event_raises_revision;
CREATE TRIGGER audit_event_raises_revision AFTER INSERT ON audit_events
BEGIN
  UPDATE projects SET revision = revision + 1 WHERE id = NEW.project_id;
  UPDATE audit_events SET revision = (SELECT revision FROM projects WHERE id = NEW.project_id) WHERE rowid = NEW.rowid;
END;
