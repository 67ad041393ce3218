-- Hardening: reject reasons on reviews (R18: prompting observed needs notes).

ALTER TABLE case_reviews
  ADD COLUMN reject_reasons  text[] NOT NULL DEFAULT '{}',
  ADD COLUMN prompting_notes text CHECK (prompting_notes IS NULL OR length(prompting_notes) BETWEEN 1 AND 2000),
  ADD CONSTRAINT case_reviews_reasons_on_reject CHECK (decision = 'rejected' OR cardinality(reject_reasons) = 0),
  ADD CONSTRAINT case_reviews_prompting_notes CHECK (('prompting_observed' = ANY (reject_reasons)) = (prompting_notes IS NOT NULL));

-- An export belongs to the auditor who requested it (by identity-provider subject; exports made before this have none
-- and are no longer served).
ALTER TABLE recording_exports ADD COLUMN requester_subject text;
