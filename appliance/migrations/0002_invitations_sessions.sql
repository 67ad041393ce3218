-- One-time invitations for a customer to join a case's video session. The link token and the 6-digit code are
-- looked up by hash; both are also kept encrypted so the teller's console can show them again.
CREATE TABLE invitations (
  id                uuid PRIMARY KEY,
  case_id           uuid NOT NULL REFERENCES cases (id),
  token_hash        bytea NOT NULL UNIQUE,
  code_hash         bytea NOT NULL,
  code_enc          bytea NOT NULL,
  token_enc         bytea NOT NULL,
  created_by        text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL,
  revoked_at        timestamptz,
  revoked_by        text,
  device_hash       bytea,
  opened_at         timestamptz,
  code_attempts     integer NOT NULL DEFAULT 0,
  code_verified_at  timestamptz,
  locked_at         timestamptz,
  device_checked_at timestamptz,
  consent           text CHECK (consent IN ('accepted', 'declined')),
  consent_at        timestamptz,
  consent_text_hash bytea,
  waiting_since     timestamptz,
  closed_at         timestamptz
);
CREATE INDEX invitations_case_idx ON invitations (case_id, created_at DESC);

-- A live session between the case's teller and the invited customer: admit → hang-up. A reconnect stays in the same
-- session; the recording marks it as a new segment.
CREATE TABLE call_sessions (
  id            uuid PRIMARY KEY,
  case_id       uuid NOT NULL REFERENCES cases (id),
  invitation_id uuid NOT NULL REFERENCES invitations (id),
  teller        text NOT NULL,
  state         text NOT NULL CHECK (state IN ('live', 'ended')),
  room_id       bigint NOT NULL UNIQUE,
  admitted_at   timestamptz NOT NULL DEFAULT now(),
  ended_at      timestamptz,
  end_reason    text
);
CREATE INDEX call_sessions_case_idx ON call_sessions (case_id, admitted_at DESC);
CREATE UNIQUE INDEX call_sessions_one_live_per_case ON call_sessions (case_id) WHERE state = 'live';

-- What happened in a session, in order (joins, leaves, reconnects, chat, files, screen share, markers). Chat text is
-- encrypted like other personal data.
CREATE TABLE session_events (
  id          bigserial PRIMARY KEY,
  session_id  uuid NOT NULL REFERENCES call_sessions (id),
  at          timestamptz NOT NULL DEFAULT now(),
  party       text NOT NULL CHECK (party IN ('teller', 'customer', 'system')),
  kind        text NOT NULL,
  data        jsonb NOT NULL DEFAULT '{}'::jsonb,
  text_enc    bytea
);
CREATE INDEX session_events_session_idx ON session_events (session_id, id);

-- Images and documents exchanged in a session, stored encrypted with the case.
CREATE TABLE case_files (
  id          uuid PRIMARY KEY,
  case_id     uuid NOT NULL REFERENCES cases (id),
  session_id  uuid REFERENCES call_sessions (id),
  party       text NOT NULL CHECK (party IN ('teller', 'customer')),
  name        text NOT NULL,
  media_type  text NOT NULL,
  size        integer NOT NULL,
  sha256      bytea NOT NULL,
  content_enc bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_files_case_idx ON case_files (case_id, created_at);

GRANT SELECT, INSERT, UPDATE ON invitations, call_sessions TO kyc_app;
GRANT SELECT, INSERT ON session_events, case_files TO kyc_app;
GRANT USAGE ON SEQUENCE session_events_id_seq TO kyc_app;
