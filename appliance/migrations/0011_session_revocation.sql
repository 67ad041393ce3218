-- Revocation reaches the appliance (OIDC Back-Channel Logout 1.0, periodic re-check with the identity provider, an
-- admin ending a user's sessions): a browser session remembers the identity provider's session id (`sid` of the ID
-- token), its refresh token (encrypted with the appliance's field key, bound to the session) and when the user was
-- last re-checked with the identity provider.

ALTER TABLE web_sessions
  ADD COLUMN idp_sid text,
  ADD COLUMN refresh_token_enc bytea,
  ADD COLUMN idp_checked_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX web_sessions_subject_idx ON web_sessions (subject);
CREATE INDEX web_sessions_username_idx ON web_sessions (username);
CREATE INDEX web_sessions_idp_sid_idx ON web_sessions (idp_sid) WHERE idp_sid IS NOT NULL;

-- Logout tokens seen (their `jti`), until they expire: a replayed logout token is refused.
CREATE TABLE backchannel_logout_tokens (
  jti        text PRIMARY KEY CHECK (length(jti) BETWEEN 1 AND 200),
  expires_at timestamptz NOT NULL
);
CREATE INDEX backchannel_logout_tokens_expires_idx ON backchannel_logout_tokens (expires_at);
GRANT SELECT, INSERT, DELETE ON backchannel_logout_tokens TO kyc_app;
