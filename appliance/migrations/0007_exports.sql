-- Composite exports of sealed recordings (both parties side by side, signed). The MP4 is kept encrypted at rest under
-- its own data key, wrapped by the archive's KEK like a recording's; the detached CMS signature is public material.
CREATE TABLE recording_exports (
  id              uuid PRIMARY KEY,
  recording_id    uuid NOT NULL REFERENCES recordings (id),
  requested_by    text NOT NULL,
  reason          text NOT NULL CHECK (length(reason) BETWEEN 3 AND 500),
  status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
  progress        real NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
  failure_reason  text,
  sha256          bytea,
  bytes           bigint,
  kek_id          text,
  wrapped_key     bytea,
  signature       bytea,
  created_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  CHECK (status <> 'done' OR (sha256 IS NOT NULL AND bytes IS NOT NULL AND wrapped_key IS NOT NULL AND signature IS NOT NULL))
);
CREATE INDEX recording_exports_recording_idx ON recording_exports (recording_id, created_at DESC);

GRANT SELECT, INSERT, UPDATE ON recording_exports TO kyc_app;
