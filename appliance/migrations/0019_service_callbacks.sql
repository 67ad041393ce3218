-- Call-backs a customer asked for (state 'callback') form a worklist: a skilled teller takes the next one (the oldest
-- for their products and languages; no picking, as with live offers), calls the customer and records the outcome.
-- A teller holds at most one call-back at a time. When the visit's key is destroyed (retention), its call-back, waiting
-- or held, is closed as 'expired': there is no number left to call.
ALTER TABLE service_visits
  ADD COLUMN callback_teller   text,
  ADD COLUMN callback_taken_at timestamptz,
  ADD COLUMN callback_done_at  timestamptz,
  ADD COLUMN callback_outcome  text CHECK (callback_outcome IN ('reached', 'unreachable', 'expired')),
  ADD CONSTRAINT service_visits_callback_done_has_outcome CHECK ((callback_done_at IS NULL) = (callback_outcome IS NULL)),
  ADD CONSTRAINT service_visits_callback_taken_by CHECK ((callback_teller IS NULL) = (callback_taken_at IS NULL));
CREATE INDEX service_visits_callbacks_waiting_idx ON service_visits (product_code, lang, left_at) WHERE state = 'callback' AND callback_teller IS NULL;
CREATE UNIQUE INDEX service_visits_one_callback_per_teller ON service_visits (callback_teller) WHERE callback_teller IS NOT NULL AND callback_done_at IS NULL;
