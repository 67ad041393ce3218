-- Each case's personal data is encrypted under the case's own data key, kept in a key folder of the appliance
-- (KYC_PII_CASE_KEY_DIR), outside the database. The retention run (the worker) NULLs the case's personal data and
-- records shredded_at; the appliance, which owns the key folder, then destroys the case's key and records when.
ALTER TABLE cases ADD COLUMN case_key_destroyed_at timestamptz;
CREATE INDEX cases_case_key_to_destroy_idx ON cases (shredded_at) WHERE shredded_at IS NOT NULL AND case_key_destroyed_at IS NULL;
