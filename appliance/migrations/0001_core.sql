-- Browser sessions (server-side; the cookie holds only a random id whose SHA-256 is stored here).
CREATE TABLE web_sessions (
  id_hash      bytea PRIMARY KEY,
  subject      text NOT NULL,
  username     text NOT NULL,
  roles        text[] NOT NULL,
  id_token     text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);
CREATE INDEX web_sessions_expires_idx ON web_sessions (expires_at);

-- OIDC authorization requests in flight (state → PKCE verifier, nonce, where to return). Single use.
CREATE TABLE oidc_login_states (
  state_hash    bytea PRIMARY KEY,
  code_verifier text NOT NULL,
  nonce         text NOT NULL,
  return_to     text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL
);
CREATE INDEX oidc_login_states_expires_idx ON oidc_login_states (expires_at);

-- Cases. Personal data is encrypted per field (key outside the database); exact search goes through HMAC
-- blind indexes.
CREATE TABLE cases (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  status             text NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'invited', 'in_session', 'completed', 'approved', 'rejected')),
  teller             text NOT NULL,
  branch             text NOT NULL,
  product            text NOT NULL,
  customer_name_enc  bytea NOT NULL,
  customer_id_enc    bytea NOT NULL,
  customer_phone_enc bytea NOT NULL,
  bank_card_enc      bytea,
  id_number_bidx     bytea NOT NULL,
  name_bidx          bytea NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_teller_created_idx ON cases (teller, created_at DESC, id DESC);
CREATE INDEX cases_id_number_bidx_idx ON cases (id_number_bidx);

GRANT SELECT, INSERT, UPDATE, DELETE ON web_sessions, oidc_login_states TO kyc_app;
GRANT SELECT, INSERT, UPDATE ON cases TO kyc_app;
