-- Per-call quality over time, for the auditor's chart beside the recording: one row per party, source and 5-second
-- bucket (bitrate, loss, RTT, jitter of that party's media as Janus measures its uplink or its browser reports what
-- it receives), capped per session by the appliance. Telemetry, not evidence: no audit event per row, no PII.
CREATE TABLE call_quality_samples (
  id              bigserial PRIMARY KEY,
  session_id      uuid NOT NULL REFERENCES call_sessions (id),
  at              timestamptz NOT NULL,
  party           text NOT NULL CHECK (party IN ('teller', 'customer')),
  source          text NOT NULL CHECK (source IN ('janus', 'browser')),
  bitrate_kbps    real CHECK (bitrate_kbps >= 0),
  loss_pct        real CHECK (loss_pct BETWEEN 0 AND 100),
  rtt_ms          real CHECK (rtt_ms >= 0),
  jitter_ms       real CHECK (jitter_ms >= 0),
  available_kbps  real CHECK (available_kbps >= 0)
);
CREATE INDEX call_quality_samples_session_idx ON call_quality_samples (session_id, at);

-- Quality incidents that change nothing by themselves (a slowlink report, a frozen picture), throttled per party.
-- Incidents that change the call (reconnects, steps down to audio or chat and back) are session events, audited.
CREATE TABLE call_quality_incidents (
  id          bigserial PRIMARY KEY,
  session_id  uuid NOT NULL REFERENCES call_sessions (id),
  at          timestamptz NOT NULL,
  party       text NOT NULL CHECK (party IN ('teller', 'customer')),
  kind        text NOT NULL CHECK (kind IN ('slowlink', 'freeze')),
  data        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX call_quality_incidents_session_idx ON call_quality_incidents (session_id, at);

GRANT SELECT, INSERT ON call_quality_samples, call_quality_incidents TO kyc_app;
GRANT USAGE ON SEQUENCE call_quality_samples_id_seq, call_quality_incidents_id_seq TO kyc_app;
