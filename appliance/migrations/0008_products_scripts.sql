-- The product catalogue and its scripts (话术). A product's definition is versioned: an edit appends a new version,
-- versions are never updated, and a case keeps the version it was opened with.
CREATE TABLE products (
  code            text PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9-]{1,39}$'),
  current_version integer NOT NULL CHECK (current_version >= 1),
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE product_versions (
  product_code         text NOT NULL REFERENCES products (code),
  version              integer NOT NULL CHECK (version >= 1),
  name_zh              text NOT NULL CHECK (length(name_zh) BETWEEN 1 AND 100),
  name_en              text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 100),
  retention_years      integer NOT NULL CHECK (retention_years BETWEEN 1 AND 100),
  requires_geolocation boolean NOT NULL DEFAULT false,
  -- ordered steps: [{id, kind, required, title:{zh-CN,en}, text?, confirm?, pool?, draw?, source?, digits?}]
  steps                jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
  created_by           text NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (product_code, version)
);

-- Cases opened before the catalogue keep their free-text product and no version.
ALTER TABLE cases ADD COLUMN product_version integer;
ALTER TABLE cases ADD CONSTRAINT cases_product_version_fk
  FOREIGN KEY (product, product_version) REFERENCES product_versions (product_code, version);

-- What was drawn at random for a case's script when it was opened (R6): the questions picked from a step's pool in
-- the order asked, a read-aloud code. Written once, never updated.
CREATE TABLE case_script_draws (
  case_id  uuid NOT NULL REFERENCES cases (id),
  step_id  text NOT NULL,
  data     jsonb NOT NULL,
  drawn_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, step_id)
);

-- Each completion of a script step (a step may be redone: every attempt is kept). `at` is the wall-clock time of
-- the marker; per-party media offsets are resolved when the recording is sealed (manifest markers).
CREATE TABLE kyc_step_attempts (
  id          uuid PRIMARY KEY,
  case_id     uuid NOT NULL REFERENCES cases (id),
  step_id     text NOT NULL,
  attempt     integer NOT NULL CHECK (attempt >= 1),
  session_id  uuid REFERENCES call_sessions (id),
  party       text NOT NULL CHECK (party IN ('teller', 'customer', 'system')),
  actor       text NOT NULL,
  result      jsonb NOT NULL DEFAULT '{}'::jsonb,
  at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (case_id, step_id, attempt)
);

-- A step waiting for the customer's confirmation (the prompt shown in the customer's browser) and the tap.
CREATE TABLE kyc_confirmations (
  id            uuid PRIMARY KEY,
  case_id       uuid NOT NULL REFERENCES cases (id),
  step_id       text NOT NULL,
  session_id    uuid NOT NULL REFERENCES call_sessions (id),
  requested_by  text NOT NULL,
  requested_at  timestamptz NOT NULL DEFAULT now(),
  confirmed_at  timestamptz,
  attempt_id    uuid REFERENCES kyc_step_attempts (id)
);
CREATE INDEX kyc_confirmations_session_idx ON kyc_confirmations (session_id) WHERE confirmed_at IS NULL;

-- The customer's location at join (R17): consent, coordinates (encrypted like other personal data), the
-- browser's and the server's time.
CREATE TABLE case_geolocations (
  id             uuid PRIMARY KEY,
  case_id        uuid NOT NULL REFERENCES cases (id),
  invitation_id  uuid NOT NULL REFERENCES invitations (id),
  consent        text NOT NULL CHECK (consent IN ('granted', 'refused', 'unavailable')),
  coords_enc     bytea,
  accuracy_m     real,
  captured_at    timestamptz,
  received_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((consent = 'granted') = (coords_enc IS NOT NULL))
);
CREATE INDEX case_geolocations_case_idx ON case_geolocations (case_id, received_at);

GRANT SELECT, INSERT, UPDATE ON products TO kyc_app;
GRANT SELECT, INSERT ON product_versions, case_script_draws, kyc_step_attempts, case_geolocations TO kyc_app;
GRANT SELECT, INSERT, UPDATE ON kyc_confirmations TO kyc_app;

-- The branch a signed-in user belongs to (Keycloak user attribute `branch`, mapped into the tokens); a teller's new
-- cases take it instead of a typed value.
ALTER TABLE web_sessions ADD COLUMN branch text;
