-- Tamper-evident audit log (RFC 6962 Merkle tree). Every table here is insert-only: the runtime role kyc_app
-- gets SELECT and INSERT, never UPDATE/DELETE/TRUNCATE, and statement triggers that also fire in replica mode
-- (ENABLE ALWAYS) refuse UPDATE, DELETE and TRUNCATE for everyone, owner and superuser included. A superuser can
-- still drop the triggers: that is what the signed checkpoints kept outside the database are for.
--
-- audit_event      one row per event: its canonical JSON (the leaf bytes), written in the caller's transaction
-- audit_leaf       leaf_index -> event, assigned by the sequencer in batches after the event commits
-- audit_node       every complete subtree hash above the leaves, keyed by (exclusive end leaf, level)
-- audit_tree_head  one row per sequencer batch: size, root, frontier; the current head has the greatest size
-- audit_checkpoint signed checkpoints (C2SP signed notes) as written to the checkpoint directory

CREATE SEQUENCE audit_event_id_seq AS bigint;

CREATE TABLE audit_event (
  id bigint PRIMARY KEY,                -- set by audit_event_assign(), never by the caller
  xid xid8 NOT NULL,                    -- inserting transaction: the sequencer's low-water mark relies on it
  body text NOT NULL CHECK (octet_length(body) <= 8192),  -- RFC 8785 canonical JSON; its UTF-8 bytes are the leaf
  -- search columns derived from the body itself, so they cannot disagree with what is hashed
  ev_time text GENERATED ALWAYS AS (body::jsonb ->> 'time') STORED,
  actor text GENERATED ALWAYS AS (body::jsonb -> 'actor' ->> 'username') STORED,
  action text GENERATED ALWAYS AS (body::jsonb ->> 'action') STORED,
  object_type text GENERATED ALWAYS AS (body::jsonb -> 'object' ->> 'type') STORED,
  object_id text GENERATED ALWAYS AS (body::jsonb -> 'object' ->> 'id') STORED,
  result text GENERATED ALWAYS AS (body::jsonb ->> 'result') STORED
);
ALTER SEQUENCE audit_event_id_seq OWNED BY audit_event.id;
CREATE INDEX audit_event_actor_idx ON audit_event (actor, id);
CREATE INDEX audit_event_action_idx ON audit_event (action text_pattern_ops, id);
CREATE INDEX audit_event_object_idx ON audit_event (object_type, object_id, id);
CREATE INDEX audit_event_time_idx ON audit_event (ev_time, id);

CREATE TABLE audit_leaf (
  leaf_index bigint PRIMARY KEY CHECK (leaf_index >= 0),
  event_id bigint NOT NULL UNIQUE REFERENCES audit_event (id),
  leaf_hash bytea NOT NULL CHECK (octet_length(leaf_hash) = 32)
);

CREATE TABLE audit_node (
  end_index bigint NOT NULL,            -- exclusive end: the subtree covers [end_index - 2^level, end_index)
  level smallint NOT NULL CHECK (level BETWEEN 1 AND 62),
  hash bytea NOT NULL CHECK (octet_length(hash) = 32),
  PRIMARY KEY (end_index, level)
);

CREATE TABLE audit_tree_head (
  tree_size bigint PRIMARY KEY CHECK (tree_size >= 0),
  root_hash bytea NOT NULL CHECK (octet_length(root_hash) = 32),
  frontier bytea NOT NULL CHECK (octet_length(frontier) % 32 = 0),  -- complete-subtree roots, largest first
  watermark bigint NOT NULL,            -- every event with id <= watermark is sequenced (or was rolled back)
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO audit_tree_head (tree_size, root_hash, frontier, watermark)
VALUES (0, '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', '', 0);

CREATE TABLE audit_checkpoint (
  id bigserial PRIMARY KEY,
  tree_size bigint NOT NULL,
  note text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_checkpoint_size_idx ON audit_checkpoint (tree_size, id);

-- The caller's transaction gets its transaction id *before* the event id is drawn, so that any event id the
-- sequencer has seen allocated belongs to a transaction that is visible in its snapshot's in-progress list.
CREATE FUNCTION audit_event_assign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.xid := pg_current_xact_id();
  NEW.id := nextval('audit_event_id_seq');
  RETURN NEW;
END
$$;
CREATE TRIGGER audit_event_assign BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION audit_event_assign();
ALTER TABLE audit_event ENABLE ALWAYS TRIGGER audit_event_assign;

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['audit_event', 'audit_leaf', 'audit_node', 'audit_tree_head', 'audit_checkpoint'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE OR TRUNCATE ON %I
                    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()', t || '_append_only', t);
    EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', t, t || '_append_only');
    EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', t);
    EXECUTE format('GRANT SELECT, INSERT ON %I TO kyc_app', t);
  END LOOP;
END
$$;
REVOKE ALL ON SEQUENCE audit_event_id_seq, audit_checkpoint_id_seq FROM PUBLIC;
GRANT USAGE, SELECT ON SEQUENCE audit_event_id_seq, audit_checkpoint_id_seq TO kyc_app;
REVOKE ALL ON FUNCTION audit_event_assign(), audit_refuse_change() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_event_assign() TO kyc_app;
