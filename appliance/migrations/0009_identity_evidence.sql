-- Identity evidence gathered inside a session: stills of the ID document taken by the customer's browser from its own
-- camera track (full resolution), face comparisons of the ID photo against live frames, challenge–response liveness
-- and the ID-number cross-check. Images are encrypted like exchanged files (per row, bound to the row id); the
-- number read from the card is personal data and encrypted too. Nothing here is updated except decisions that are
-- made later (accept/retake, an officer's override, a challenge's result), each audited.

-- The teller asks the customer's browser for stills; the browser answers one request once.
CREATE TABLE identity_capture_requests (
  id            uuid PRIMARY KEY,
  case_id       uuid NOT NULL REFERENCES cases (id),
  session_id    uuid NOT NULL REFERENCES call_sessions (id),
  purpose       text NOT NULL CHECK (purpose IN ('id-front', 'id-back', 'face', 'liveness')),
  -- for liveness: the challenge of the liveness check this request collects frames for
  liveness_id   uuid,
  challenge_pos smallint,
  frames        smallint NOT NULL CHECK (frames BETWEEN 1 AND 12),
  requested_by  text NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'fulfilled', 'superseded')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  fulfilled_at  timestamptz
);
CREATE INDEX identity_capture_requests_session_idx ON identity_capture_requests (session_id, created_at DESC);

CREATE TABLE identity_stills (
  id            uuid PRIMARY KEY,
  case_id       uuid NOT NULL REFERENCES cases (id),
  session_id    uuid NOT NULL REFERENCES call_sessions (id),
  request_id    uuid NOT NULL REFERENCES identity_capture_requests (id),
  kind          text NOT NULL CHECK (kind IN ('id-front', 'id-back', 'face', 'liveness')),
  frame_index   smallint NOT NULL DEFAULT 0,
  media_type    text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
  width         integer NOT NULL CHECK (width > 0),
  height        integer NOT NULL CHECK (height > 0),
  size          integer NOT NULL CHECK (size > 0),
  sha256        bytea NOT NULL,
  content_enc   bytea NOT NULL,
  -- ID sides only: the teller accepts a still or asks for another one
  decision      text CHECK (decision IN ('accepted', 'retake')),
  decided_by    text,
  decided_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (request_id, frame_index)
);
CREATE INDEX identity_stills_case_idx ON identity_stills (case_id, kind, created_at DESC);

-- One comparison of the accepted ID front (reference) with the best of several live frames.
CREATE TABLE face_checks (
  id                uuid PRIMARY KEY,
  case_id           uuid NOT NULL REFERENCES cases (id),
  session_id        uuid NOT NULL REFERENCES call_sessions (id),
  reference_id      uuid NOT NULL REFERENCES identity_stills (id),
  probe_id          uuid REFERENCES identity_stills (id),
  probe_count       smallint NOT NULL,
  score             double precision NOT NULL CHECK (score >= 0 AND score <= 1),
  decision          text NOT NULL CHECK (decision IN ('match', 'review', 'no_match')),
  engine            text NOT NULL,
  model_version     text NOT NULL,
  threshold_match   double precision NOT NULL,
  threshold_review  double precision NOT NULL,
  faces_reference   smallint NOT NULL,
  faces_probe       smallint NOT NULL,
  override_decision text CHECK (override_decision IN ('match', 'no_match')),
  override_reason   text CHECK (override_reason IS NULL OR length(override_reason) BETWEEN 5 AND 1000),
  override_by       text,
  override_at       timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  CHECK ((override_decision IS NULL) = (override_reason IS NULL))
);
CREATE INDEX face_checks_case_idx ON face_checks (case_id, created_at DESC);

CREATE TABLE liveness_checks (
  id            uuid PRIMARY KEY,
  case_id       uuid NOT NULL REFERENCES cases (id),
  session_id    uuid NOT NULL REFERENCES call_sessions (id),
  -- the matched face the challenges' frames must show (the ID front when no frame matched yet)
  reference_id  uuid NOT NULL REFERENCES identity_stills (id),
  requested_by  text NOT NULL,
  status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'passed', 'failed')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);
CREATE INDEX liveness_checks_case_idx ON liveness_checks (case_id, created_at DESC);

-- The challenges the server picked for a check, in the order asked; each answered once.
CREATE TABLE liveness_challenges (
  liveness_id   uuid NOT NULL REFERENCES liveness_checks (id),
  position      smallint NOT NULL CHECK (position >= 0),
  kind          text NOT NULL CHECK (kind IN ('turn-left', 'turn-right', 'blink', 'open-mouth', 'read-digits')),
  digits        text CHECK (digits IS NULL OR digits ~ '^[0-9]{4,6}$'),
  passed        boolean,
  reason        text,
  same_face     boolean,
  measurements  jsonb,
  frames        smallint,
  answered_at   timestamptz,
  PRIMARY KEY (liveness_id, position)
);

-- The number read from an accepted ID front, compared with the case's; the case's number is never changed by it.
CREATE TABLE id_number_checks (
  id              uuid PRIMARY KEY,
  case_id         uuid NOT NULL REFERENCES cases (id),
  still_id        uuid NOT NULL REFERENCES identity_stills (id),
  id_number_enc   bytea,
  checksum_valid  boolean NOT NULL,
  matches         boolean NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX id_number_checks_case_idx ON id_number_checks (case_id, created_at DESC);

GRANT SELECT, INSERT, UPDATE ON identity_capture_requests, identity_stills, face_checks, liveness_checks, liveness_challenges TO kyc_app;
GRANT SELECT, INSERT ON id_number_checks TO kyc_app;
