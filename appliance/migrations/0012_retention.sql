-- Retention (R11, R13, R14): a retention policy per catalogue product, legal holds on cases, and crypto-shredding of
-- what has expired. What is destroyed is recorded per item so that a shredding interrupted at any point resumes to
-- the end; the audit events of the shredding (and every earlier one) stay.

-- How long a product's cases are kept: `retention_days` after the anchor. `case_completed`: when the teller marked
-- the case completed (the call is over and the script done); `contract_end`: the contract-end date an administrator
-- enters on the case (a case without one does not expire). A product without a row here never expires.
CREATE TABLE retention_policies (
  product_code   text PRIMARY KEY REFERENCES products (code),
  retention_days integer NOT NULL CHECK (retention_days BETWEEN 1 AND 36500),
  anchor         text NOT NULL CHECK (anchor IN ('case_completed', 'contract_end')),
  updated_by     text NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- `completed_at`: set when the case is marked completed. Cases completed before this migration take the closest
-- later time known (their review's, else their last update): never earlier than the true completion, so they are
-- kept at least as long as the policy says.
ALTER TABLE cases
  ADD COLUMN completed_at timestamptz,
  ADD COLUMN contract_end date,
  ADD COLUMN shredded_at timestamptz;
UPDATE cases c SET completed_at = COALESCE((SELECT r.at FROM case_reviews r WHERE r.case_id = c.id), c.updated_at)
 WHERE c.status IN ('completed', 'approved', 'rejected');

-- Shredding NULLs the personal data of a case (and its blind indexes, so it is found by them no more).
ALTER TABLE cases
  ALTER COLUMN customer_name_enc DROP NOT NULL,
  ALTER COLUMN customer_id_enc DROP NOT NULL,
  ALTER COLUMN customer_phone_enc DROP NOT NULL,
  ALTER COLUMN id_number_bidx DROP NOT NULL,
  ALTER COLUMN name_bidx DROP NOT NULL,
  ADD CONSTRAINT cases_pii_present CHECK (shredded_at IS NOT NULL OR (customer_name_enc IS NOT NULL AND customer_id_enc IS NOT NULL
    AND customer_phone_enc IS NOT NULL AND id_number_bidx IS NOT NULL AND name_bidx IS NOT NULL));

-- A sealed recording or a finished export keeps its wrapped data key until it is shredded.
ALTER TABLE recordings ADD COLUMN shredded_at timestamptz;
ALTER TABLE recordings DROP CONSTRAINT recordings_check1;
ALTER TABLE recordings ADD CONSTRAINT recordings_sealed_complete CHECK (status <> 'sealed' OR
  (sealed_at IS NOT NULL AND manifest_sha256 IS NOT NULL AND (wrapped_key IS NOT NULL OR shredded_at IS NOT NULL)));
ALTER TABLE recording_exports ADD COLUMN shredded_at timestamptz;
ALTER TABLE recording_exports DROP CONSTRAINT recording_exports_check;
ALTER TABLE recording_exports ADD CONSTRAINT recording_exports_done_complete CHECK (status <> 'done' OR
  (sha256 IS NOT NULL AND bytes IS NOT NULL AND signature IS NOT NULL AND (wrapped_key IS NOT NULL OR shredded_at IS NOT NULL)));

-- Exchanged files and ID stills are encrypted in their rows: shredding NULLs the content (hash and size stay).
ALTER TABLE case_files ADD COLUMN shredded_at timestamptz, ALTER COLUMN content_enc DROP NOT NULL,
  ADD CONSTRAINT case_files_content_present CHECK (content_enc IS NOT NULL OR shredded_at IS NOT NULL);
ALTER TABLE identity_stills ADD COLUMN shredded_at timestamptz, ALTER COLUMN content_enc DROP NOT NULL,
  ADD CONSTRAINT identity_stills_content_present CHECK (content_enc IS NOT NULL OR shredded_at IS NOT NULL);
ALTER TABLE case_geolocations ADD COLUMN shredded_at timestamptz;
ALTER TABLE case_geolocations DROP CONSTRAINT case_geolocations_check;
ALTER TABLE case_geolocations ADD CONSTRAINT case_geolocations_coords CHECK (shredded_at IS NOT NULL OR (consent = 'granted') = (coords_enc IS NOT NULL));

-- Legal holds: while a case has a hold not released, nothing of it expires. Rows are never deleted.
CREATE TABLE legal_holds (
  id             uuid PRIMARY KEY,
  case_id        uuid NOT NULL REFERENCES cases (id),
  reason         text NOT NULL CHECK (length(reason) BETWEEN 3 AND 1000),
  placed_by      text NOT NULL,
  placed_at      timestamptz NOT NULL DEFAULT now(),
  released_by    text,
  released_at    timestamptz,
  release_reason text CHECK (release_reason IS NULL OR length(release_reason) BETWEEN 3 AND 1000),
  CHECK ((released_at IS NULL) = (released_by IS NULL) AND (released_at IS NULL) = (release_reason IS NULL))
);
CREATE INDEX legal_holds_case_idx ON legal_holds (case_id) WHERE released_at IS NULL;
CREATE INDEX legal_holds_placed_idx ON legal_holds (placed_at DESC);

-- The one definition of a case's expiry: every recording, export, file, still and the PII of a case expire with it.
-- A contract-end date counts from 00:00 UTC of that day. Null `expires_at`: no policy, or no anchor yet.
CREATE VIEW case_retention AS
SELECT c.id AS case_id,
       p.product_code,
       p.retention_days,
       p.anchor,
       a.anchor_at,
       a.anchor_at + make_interval(days => p.retention_days) AS expires_at,
       EXISTS (SELECT 1 FROM legal_holds h WHERE h.case_id = c.id AND h.released_at IS NULL) AS held,
       c.shredded_at
  FROM cases c
  LEFT JOIN retention_policies p ON p.product_code = c.product
  CROSS JOIN LATERAL (SELECT CASE p.anchor WHEN 'case_completed' THEN c.completed_at
                                           WHEN 'contract_end' THEN c.contract_end::timestamp AT TIME ZONE 'UTC' END AS anchor_at) a;

-- Each item's shredding, step by step (a crash resumes from the last step recorded). `step`: 'keys' (wrapped data
-- key removed from the database and the archive), 'ciphertext' (encrypted files or contents removed), 'done'
-- (its audit event written in the same transaction). `destroyed`: what went (names, counts, hashes; no PII).
CREATE TABLE shred_items (
  kind           text NOT NULL CHECK (kind IN ('recording', 'export', 'file', 'still', 'pii')),
  item_id        uuid NOT NULL,
  case_id        uuid NOT NULL REFERENCES cases (id),
  run_id         uuid NOT NULL,
  step           text NOT NULL CHECK (step IN ('started', 'keys', 'ciphertext', 'done')),
  destroyed      jsonb NOT NULL DEFAULT '{}'::jsonb,
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  audit_event_id bigint,
  PRIMARY KEY (kind, item_id),
  CHECK ((step = 'done') = (finished_at IS NOT NULL))
);
CREATE INDEX shred_items_open_idx ON shred_items (case_id) WHERE step <> 'done';
CREATE INDEX shred_items_case_idx ON shred_items (case_id);

-- Runs of the retention job (and dry runs): the clock they used and what they shredded per kind.
CREATE TABLE retention_runs (
  id           uuid PRIMARY KEY,
  dry_run      boolean NOT NULL,
  as_of        timestamptz NOT NULL,
  requested_by text NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  shredded     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX retention_runs_started_idx ON retention_runs (started_at DESC);

GRANT SELECT, INSERT, UPDATE ON retention_policies, legal_holds, shred_items, retention_runs TO kyc_app;
GRANT SELECT ON case_retention TO kyc_app;
GRANT UPDATE (content_enc, shredded_at) ON case_files TO kyc_app;
GRANT UPDATE (coords_enc, shredded_at) ON case_geolocations TO kyc_app;
GRANT UPDATE (id_number_enc) ON id_number_checks TO kyc_app;
GRANT UPDATE (text_enc) ON session_events TO kyc_app;

-- The retention job: one run at a time, one waiting (a daily run and an operator's "run now" fold into one).
SELECT pgboss.create_queue('retention.run', '{"policy":"stately","retryLimit":3,"retryDelay":300,"retryBackoff":true,"expireInSeconds":21600,"retentionMinutes":20160}'::json);
