-- One recording per call session: created when the session ends (hang-up, abandonment, time-out), sealed by the
-- `recording.seal` job. `step` is the seal job's durable step record: every step is idempotent and a restarted job
-- resumes from what is recorded here and on disk. Key material is only ever stored wrapped by a KEK.
CREATE TABLE recordings (
  id                   uuid PRIMARY KEY,
  session_id           uuid NOT NULL UNIQUE REFERENCES call_sessions (id),
  case_id              uuid NOT NULL REFERENCES cases (id),
  status               text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'processing', 'sealed', 'failed')),
  step                 text NOT NULL DEFAULT 'queued',
  progress             real NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
  attempts             integer NOT NULL DEFAULT 0,
  failure_reason       text,
  failed_at            timestamptz,
  will_retry           boolean NOT NULL DEFAULT false,
  kek_id               text,
  wrapped_key          bytea,
  manifest             jsonb,
  manifest_sha256      bytea,
  complete             boolean,
  issues               jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  sealed_at            timestamptz,
  plaintext_removed_at timestamptz,
  CHECK ((wrapped_key IS NULL) = (kek_id IS NULL)),
  CHECK (status <> 'sealed' OR (sealed_at IS NOT NULL AND manifest_sha256 IS NOT NULL AND wrapped_key IS NOT NULL))
);
CREATE INDEX recordings_case_idx ON recordings (case_id);
CREATE INDEX recordings_open_idx ON recordings (status) WHERE status <> 'sealed' OR plaintext_removed_at IS NULL;
CREATE INDEX recordings_kek_idx ON recordings (kek_id);

-- The sealed files of a recording (media per party and segment, and the manifest): sizes and SHA-256 of the
-- plaintext and of the ciphertext in the archive. The ciphertext hashes are also in the `recording.sealed` audit event.
CREATE TABLE recording_files (
  recording_id      uuid NOT NULL REFERENCES recordings (id),
  name              text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9.-]*$'),
  kind              text NOT NULL CHECK (kind IN ('media', 'manifest')),
  party             text CHECK (party IN ('teller', 'customer')),
  segment           integer,
  duration_ms       integer,
  plaintext_bytes   bigint NOT NULL,
  plaintext_sha256  bytea NOT NULL,
  ciphertext_bytes  bigint NOT NULL,
  ciphertext_sha256 bytea NOT NULL,
  PRIMARY KEY (recording_id, name)
);

GRANT SELECT, INSERT, UPDATE ON recordings TO kyc_app;
GRANT SELECT, INSERT, DELETE ON recording_files TO kyc_app;
