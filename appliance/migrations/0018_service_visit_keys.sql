-- A service visit's personal data (the name and phone the customer typed, the conversation with the assistant, a
-- rating's comment) is encrypted under the visit's own data key in the appliance's key folder (as a case's is). Once
-- the visit has been over for KYC_SERVICE_VISIT_RETENTION_DAYS the appliance destroys that key and records when. What
-- a teller carried into a case belongs to the case and follows the case's retention.
ALTER TABLE service_visits ADD COLUMN key_destroyed_at timestamptz;
CREATE INDEX service_visits_key_to_destroy_idx ON service_visits (created_at) WHERE key_destroyed_at IS NULL AND state IN ('accepted', 'left', 'callback', 'expired');
