-- A case's timeline reads the audit events of all its objects (case, invitations, sessions, recordings, files) in
-- one query by object id alone; the older index leads with object_type, which that query does not know.
CREATE INDEX audit_event_object_id_idx ON audit_event (object_id, id);
