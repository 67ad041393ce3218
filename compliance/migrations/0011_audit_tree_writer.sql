-- The runtime role (kyc_app) may insert audit events and nothing else of the log. Leaves, subtree nodes and tree
-- heads are written only by audit_sequence_append(), which runs as the schema owner (SECURITY DEFINER) and hashes
-- every leaf from its event's bytes and every node and root from those leaves itself: a caller chooses which
-- committed events to sequence next, never a hash. Checkpoints are recorded only by audit_checkpoint_record(),
-- which refuses a note whose size and root are not those of a tree head the function above wrote.

REVOKE INSERT ON audit_leaf, audit_node, audit_tree_head, audit_checkpoint FROM kyc_app;
REVOKE ALL ON SEQUENCE audit_checkpoint_id_seq FROM kyc_app;

CREATE FUNCTION audit_sequence_append(p_event_ids bigint[], p_watermark bigint)
RETURNS TABLE (tree_size bigint, root_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  head record;
  n bigint;
  f bytea[];
  h bytea;
  lvl int;
  idx bigint;
  ev record;
  prev bigint := -1;
  high bigint;
  leaf_i bigint[] := '{}';
  leaf_e bigint[] := '{}';
  leaf_h bytea[] := '{}';
  node_e bigint[] := '{}';
  node_l smallint[] := '{}';
  node_h bytea[] := '{}';
  root bytea;
  i int;
BEGIN
  -- the sequencer's lock (compliance/src/audit/audit-log.ts SEQUENCER_LOCK): one writer of the tree at a time
  PERFORM pg_advisory_xact_lock(7114202612);
  SELECT th.tree_size, th.frontier, th.watermark INTO head FROM audit_tree_head th ORDER BY th.tree_size DESC LIMIT 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'audit_tree_head is empty' USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END INTO high FROM audit_event_id_seq s;
  IF p_watermark IS NULL OR p_watermark < head.watermark OR p_watermark > high THEN
    RAISE EXCEPTION 'watermark % outside [%, %]', p_watermark, head.watermark, high USING ERRCODE = 'invalid_parameter_value';
  END IF;
  n := head.tree_size;
  f := ARRAY(SELECT substring(head.frontier FROM k * 32 + 1 FOR 32) FROM generate_series(0, octet_length(head.frontier) / 32 - 1) k ORDER BY k);
  FOR ev IN
    SELECT t.id AS wanted, e.id, e.body FROM unnest(p_event_ids) WITH ORDINALITY AS t(id, ord)
      LEFT JOIN audit_event e ON e.id = t.id ORDER BY t.ord
  LOOP
    IF ev.id IS NULL THEN
      RAISE EXCEPTION 'event % does not exist', ev.wanted USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF ev.id <= prev THEN
      RAISE EXCEPTION 'event ids must be strictly ascending' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    prev := ev.id;
    h := sha256('\x00'::bytea || convert_to(ev.body, 'UTF8'));
    leaf_i := array_append(leaf_i, n);
    leaf_e := array_append(leaf_e, ev.id);
    leaf_h := array_append(leaf_h, h);
    lvl := 0;
    idx := n;
    WHILE ((n >> lvl) & 1) = 1 LOOP
      h := sha256('\x01'::bytea || f[cardinality(f)] || h);
      f := f[1:cardinality(f) - 1];
      lvl := lvl + 1;
      idx := idx >> 1;
      node_e := array_append(node_e, (idx + 1) << lvl);
      node_l := array_append(node_l, lvl::smallint);
      node_h := array_append(node_h, h);
    END LOOP;
    f := array_append(f, h);
    n := n + 1;
  END LOOP;
  IF cardinality(f) = 0 THEN
    root := sha256(''::bytea);
  ELSE
    root := f[cardinality(f)];
    FOR i IN REVERSE cardinality(f) - 1 .. 1 LOOP
      root := sha256('\x01'::bytea || f[i] || root);
    END LOOP;
  END IF;
  IF n > head.tree_size THEN
    INSERT INTO audit_leaf (leaf_index, event_id, leaf_hash) SELECT * FROM unnest(leaf_i, leaf_e, leaf_h);
    INSERT INTO audit_node (end_index, level, hash) SELECT * FROM unnest(node_e, node_l, node_h);
    INSERT INTO audit_tree_head (tree_size, root_hash, frontier, watermark)
      VALUES (n, root, coalesce((SELECT string_agg(x, ''::bytea ORDER BY o) FROM unnest(f) WITH ORDINALITY AS u(x, o)), ''::bytea), p_watermark);
  END IF;
  RETURN QUERY SELECT n, root;
END
$$;

CREATE FUNCTION audit_checkpoint_record(p_tree_size bigint, p_note text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  root bytea;
  lines text[];
BEGIN
  SELECT th.root_hash INTO root FROM audit_tree_head th WHERE th.tree_size = p_tree_size;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no tree head of size %', p_tree_size USING ERRCODE = 'invalid_parameter_value';
  END IF;
  lines := string_to_array(p_note, E'\n');
  IF cardinality(lines) < 3 OR lines[2] <> p_tree_size::text OR lines[3] <> encode(root, 'base64') THEN
    RAISE EXCEPTION 'checkpoint note does not carry the tree head of size %', p_tree_size USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO audit_checkpoint (tree_size, note) VALUES (p_tree_size, p_note);
END
$$;

REVOKE ALL ON FUNCTION audit_sequence_append(bigint[], bigint), audit_checkpoint_record(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_sequence_append(bigint[], bigint), audit_checkpoint_record(bigint, text) TO kyc_app;
