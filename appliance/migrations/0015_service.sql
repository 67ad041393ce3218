-- Customer-initiated service: the knowledge base the assistant answers from, tellers' presence and skills, the
-- customers' visits (ticket, conversation, queue), the offers routing makes, and the customers' ratings.

-- Knowledge base: articles and Q&A pairs per product and language. An edit appends a version; versions are never
-- updated. A retired entry stays (its versions are what earlier answers cited) but is no longer searched.
CREATE TABLE kb_entries (
  id              uuid PRIMARY KEY,
  product_code    text NOT NULL REFERENCES products (code),
  lang            text NOT NULL CHECK (lang IN ('zh-CN', 'en')),
  kind            text NOT NULL CHECK (kind IN ('article', 'qa')),
  current_version integer NOT NULL CHECK (current_version >= 1),
  retired_at      timestamptz,
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kb_entries_product_idx ON kb_entries (product_code, lang);

CREATE TABLE kb_entry_versions (
  entry_id   uuid NOT NULL REFERENCES kb_entries (id),
  version    integer NOT NULL CHECK (version >= 1),
  -- an article's title, or a Q&A pair's question
  title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  -- an article's text, or a Q&A pair's answer
  body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (entry_id, version)
);

-- A teller's presence and skills; `since` is when the status last changed (longest-idle routing reads it).
CREATE TABLE teller_presence (
  username   text PRIMARY KEY,
  status     text NOT NULL CHECK (status IN ('available', 'busy', 'away')),
  products   text[] NOT NULL DEFAULT '{}',
  languages  text[] NOT NULL DEFAULT '{}',
  since      timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One customer's visit: no account; a short-lived ticket (stored hashed) bound to the browser that asked for it (the
-- same device cookie an invitation binds). Name and phone are encrypted like other personal data.
CREATE TABLE service_visits (
  id            uuid PRIMARY KEY,
  product_code  text NOT NULL REFERENCES products (code),
  lang          text NOT NULL CHECK (lang IN ('zh-CN', 'en')),
  ticket_hash   bytea NOT NULL UNIQUE,
  device_hash   bytea NOT NULL,
  name_enc      bytea NOT NULL,
  phone_enc     bytea,
  state         text NOT NULL CHECK (state IN ('assistant', 'queued', 'accepted', 'left', 'callback', 'expired')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  queued_at     timestamptz,
  accepted_at   timestamptz,
  accepted_by   text,
  left_at       timestamptz,
  -- the customer's page polls while it waits: a queued visit not seen for a while has gone (abandoned)
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  case_id       uuid REFERENCES cases (id),
  invitation_id uuid REFERENCES invitations (id)
);
CREATE INDEX service_visits_queue_idx ON service_visits (product_code, lang, queued_at) WHERE state = 'queued';
CREATE INDEX service_visits_created_idx ON service_visits (created_at);

-- The conversation with the assistant (and what it cited), encrypted: customers type personal data into chats.
CREATE TABLE service_messages (
  id        bigserial PRIMARY KEY,
  visit_id  uuid NOT NULL REFERENCES service_visits (id),
  at        timestamptz NOT NULL DEFAULT now(),
  party     text NOT NULL CHECK (party IN ('customer', 'assistant')),
  text_enc  bytea NOT NULL,
  -- {entryId, title, version} of the knowledge-base entry an answer used
  citation  jsonb
);
CREATE INDEX service_messages_visit_idx ON service_messages (visit_id, id);

-- Routing offers one queued visit to one teller at a time; an offer is answered or expires.
CREATE TABLE service_offers (
  id          uuid PRIMARY KEY,
  visit_id    uuid NOT NULL REFERENCES service_visits (id),
  teller      text NOT NULL,
  state       text NOT NULL CHECK (state IN ('open', 'accepted', 'declined', 'expired', 'withdrawn')),
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at  timestamptz NOT NULL,
  answered_at timestamptz
);
CREATE UNIQUE INDEX service_offers_one_open_per_visit ON service_offers (visit_id) WHERE state = 'open';
CREATE UNIQUE INDEX service_offers_one_open_per_teller ON service_offers (teller) WHERE state = 'open';
CREATE INDEX service_offers_visit_idx ON service_offers (visit_id);

-- The customer's rating after the call (once per visit); the comment is free text, so encrypted.
CREATE TABLE service_ratings (
  visit_id    uuid PRIMARY KEY REFERENCES service_visits (id),
  case_id     uuid REFERENCES cases (id),
  teller      text,
  product_code text NOT NULL,
  score       integer NOT NULL CHECK (score BETWEEN 1 AND 5),
  comment_enc bytea,
  created_at  timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE ON kb_entries, teller_presence, service_visits, service_offers TO kyc_app;
GRANT SELECT, INSERT ON kb_entry_versions, service_messages, service_ratings TO kyc_app;
GRANT USAGE ON SEQUENCE service_messages_id_seq TO kyc_app;
