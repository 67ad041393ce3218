-- The auditor's archive: search indexes over cases and their recordings, and the maker-checker review.
-- Every search orders by (created_at, id) and pages by keyset on it, so each filterable column leads an index that
-- continues with that order: a filtered page is an index range scan that stops after `limit` rows.
CREATE INDEX cases_created_idx ON cases (created_at DESC, id DESC);
CREATE INDEX cases_branch_created_idx ON cases (branch, created_at DESC, id DESC);
CREATE INDEX cases_product_created_idx ON cases (product, created_at DESC, id DESC);
CREATE INDEX cases_status_created_idx ON cases (status, created_at DESC, id DESC);
CREATE INDEX cases_name_bidx_idx ON cases (name_bidx);
-- (teller, created_at, id) and id_number_bidx exist since 0001.

-- Recording status and integrity flags are searched from the recording side (few rows match) and joined by case.
CREATE INDEX recordings_status_case_idx ON recordings (status, case_id);
CREATE INDEX recordings_incomplete_case_idx ON recordings (case_id) WHERE complete = false;
CREATE INDEX recordings_issues_case_idx ON recordings (case_id) WHERE issues <> '[]'::jsonb;

-- An auditor's decision on a completed case (maker-checker). Append-only: a case has at most one decision, the
-- row is never updated, and the case's status carries the outcome.
CREATE TABLE case_reviews (
  case_id    uuid PRIMARY KEY REFERENCES cases (id),
  decision   text NOT NULL CHECK (decision IN ('approved', 'rejected')),
  comment    text NOT NULL CHECK (length(comment) BETWEEN 1 AND 2000),
  reviewer   text NOT NULL,
  at         timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT ON case_reviews TO kyc_app;
