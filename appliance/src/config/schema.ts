/**
 * The appliance's whole configuration, declared once. Each key is read from the config file (JSON, keys as below
 * without the `KYC_` prefix in camelCase, or exactly as the variable name) and/or from the `KYC_*` variable of the
 * same name; the variable wins. Every bad key is reported together at start-up. The README's configuration table is
 * generated from these declarations (`make config-doc`), so docs and code cannot drift.
 */
export type KeyKind = 'string' | 'url' | 'path' | 'int' | 'number' | 'bool' | 'enum' | 'list';

export interface KeySpec {
  kind: KeyKind;
  doc: string;
  /** default value as written in the environment; `null` = optional, no default; absent = required */
  default?: string | null;
  values?: readonly string[];
  min?: number;
  max?: number;
  /** the value names a file holding a secret: it must exist and not be readable by group or others */
  secretFile?: boolean;
}

export const CONFIG_KEYS = {
  KYC_CONFIG_FILE: { kind: 'path', default: null, doc: 'Optional JSON file with any of these keys; variables override it.' },
  KYC_PROFILE: {
    kind: 'enum',
    values: ['production', 'development'],
    default: 'production',
    doc: 'production: KYC_OIDC_ISSUER must be set and https. development (make dev, tests): KYC_OIDC_ISSUER defaults to the dev identity provider, and an http issuer is allowed on a loopback address only.',
  },
  KYC_DATA_DIR: { kind: 'path', default: 'var', doc: 'Runtime data: secrets, PKI, recordings, archive, checkpoints. Relative paths are resolved against the working directory.' },
  KYC_LISTEN_HOST: { kind: 'string', default: '127.0.0.1', doc: 'Address the HTTPS server binds to (0.0.0.0 to serve the branch network).' },
  KYC_LISTEN_PORT: { kind: 'int', default: '8443', min: 1, max: 65535, doc: 'HTTPS port.' },
  KYC_PUBLIC_URL: { kind: 'url', default: 'https://127.0.0.1:8443', doc: 'Origin users reach the appliance at; used for OIDC redirects, CSRF origin checks and invitation links.' },
  KYC_TLS_CERT_FILE: { kind: 'path', default: null, doc: 'Server certificate (PEM, chain allowed). Unset: the appliance creates its own CA and server certificate under DATA_DIR/pki.' },
  KYC_TLS_KEY_FILE: { kind: 'path', default: null, secretFile: true, doc: 'Server private key (PEM, mode 0600). Required with KYC_TLS_CERT_FILE.' },
  KYC_TLS_SERVER_NAMES: {
    kind: 'list',
    default: '',
    doc: 'Extra DNS names / IP addresses for the self-made server certificate (comma-separated); the public URL host, localhost and 127.0.0.1 are always included.',
  },
  KYC_DB_URL: {
    kind: 'string',
    default: 'postgresql://kyc_app@/kyc?host=/var/run/postgresql&port=5433',
    doc: 'PostgreSQL URL for the runtime role (kyc_app). No password in the URL: use KYC_DB_PASSWORD_FILE or peer authentication.',
  },
  KYC_DB_MIGRATE_URL: {
    kind: 'string',
    default: 'postgresql://kyc_owner@/kyc?host=/var/run/postgresql&port=5433',
    doc: 'PostgreSQL URL for the schema owner (kyc_owner), used only to apply migrations.',
  },
  KYC_DB_PASSWORD_FILE: { kind: 'path', default: null, secretFile: true, doc: 'File holding the database password for both roles (mode 0600), when not using peer authentication.' },
  KYC_DB_POOL_SIZE: { kind: 'int', default: '20', min: 2, max: 500, doc: 'Maximum database connections of one appliance process.' },
  KYC_OIDC_ISSUER: {
    kind: 'url',
    default: null,
    doc: 'Keycloak realm URL (the OIDC issuer), e.g. https://idp.bank.local/realms/kyc. Required and https in production; in development it defaults to the dev identity provider (http://127.0.0.1:8180/realms/kyc).',
  },
  KYC_OIDC_CA_FILE: {
    kind: 'path',
    default: null,
    doc: "PEM bundle of the CA(s) that sign the issuer's HTTPS certificate (an institution's internal CA), trusted in addition to the system store for discovery, tokens and the JWKS.",
  },
  KYC_OIDC_CLIENT_ID: { kind: 'string', default: 'kyc-appliance', doc: "The appliance's confidential client in the realm." },
  KYC_OIDC_CLIENT_SECRET_FILE: { kind: 'path', default: '$DATA_DIR/secrets/oidc-client-secret', secretFile: true, doc: 'File holding the client secret (mode 0600).' },
  KYC_OIDC_AUDIENCE: { kind: 'string', default: 'kyc-appliance', doc: 'Audience that bearer access tokens must carry (Keycloak audience mapper).' },
  KYC_OIDC_BEARER_CLIENTS: {
    kind: 'list',
    default: 'kyc-appliance,kyc-cli',
    doc: "Clients of the realm whose access tokens are accepted as bearer tokens (their `azp`), comma-separated: the appliance's own client and the institution's API client. A token another client of the realm obtained is refused even when it carries the audience.",
  },
  KYC_SESSION_KEY_FILE: {
    kind: 'path',
    default: '$DATA_DIR/secrets/session.key',
    secretFile: true,
    doc: 'Key that binds session cookies and CSRF tokens (created with mode 0600 on first start if missing).',
  },
  KYC_SESSION_TTL_SECONDS: { kind: 'int', default: '28800', min: 60, max: 604800, doc: 'Absolute lifetime of a browser session.' },
  KYC_SESSION_IDP_RECHECK_SECONDS: {
    kind: 'int',
    default: '300',
    min: 1,
    max: 86400,
    doc: 'A browser session is re-checked with the identity provider (refresh token grant) at least this often: a user disabled or signed out there, or a role withdrawn, loses access here within this time. Back-channel logout (`/auth/backchannel-logout`) ends sessions at once.',
  },
  KYC_SESSION_IDP_GRACE_SECONDS: {
    kind: 'int',
    default: '900',
    min: 0,
    max: 86400,
    doc: 'While the identity provider is unreachable, a browser session whose re-check is due goes on for at most this long; then its requests get 503 until the provider answers again (the session is kept, and calls already connected go on). 0: refuse as soon as a re-check fails.',
  },
  KYC_SESSION_IDLE_SECONDS: { kind: 'int', default: '1800', min: 60, max: 86400, doc: 'A browser session unused for this long ends.' },
  KYC_PII_KEY_FILE: {
    kind: 'path',
    default: '$DATA_DIR/secrets/pii.key',
    secretFile: true,
    doc: 'Key encrypting customer personal data at rest in the database (created on first start if missing; keep a backup).',
  },
  KYC_PII_CASE_KEY_DIR: {
    kind: 'path',
    default: '$DATA_DIR/secrets/case-keys',
    doc: "One data key per case (`<case id>.key`, 0600, encrypted under KYC_PII_KEY_FILE): a customer's personal data, exchanged files and ID stills are encrypted under their case's key, and the retention run destroys it, so that no database backup can bring shredded data back. It is backed up with the other secrets (kyc-backup); keep backups no longer than the shortest retention period you must honour.",
  },
  KYC_BLIND_INDEX_KEY_FILE: {
    kind: 'path',
    default: '$DATA_DIR/secrets/blind-index.key',
    secretFile: true,
    doc: 'HMAC key of the blind indexes used for exact search by ID number (created on first start if missing; keep a backup).',
  },
  KYC_BODY_LIMIT_BYTES: { kind: 'int', default: '1048576', min: 1024, max: 104857600, doc: 'Largest accepted request body (JSON).' },
  KYC_AUTH_RATE_LIMIT_PER_MINUTE: { kind: 'int', default: '30', min: 1, max: 10000, doc: 'Requests per minute per client address on the sign-in endpoints.' },
  KYC_TRUST_PROXY: { kind: 'bool', default: 'false', doc: 'Trust X-Forwarded-* from a reverse proxy in front of the appliance.' },
  KYC_METRICS_LISTEN: {
    kind: 'string',
    default: '127.0.0.1:9464',
    doc: "host:port of the separate plain-HTTP listener serving `GET /metrics` (Prometheus text format) to the monitoring system; keep it on loopback or a management network. `off` disables it. The worker's figures (seal queue, seal times and failures) are read from the database on each scrape, so one endpoint covers both processes.",
  },
  KYC_LOG_LEVEL: { kind: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], doc: 'Log level (JSON logs on stdout).' },
  KYC_WEB_ROOT: { kind: 'path', default: null, doc: 'Folder of the built UI. Default: web/build beside the appliance.' },
  KYC_AUDIT_ORIGIN: { kind: 'string', default: 'kyc-appliance.local/audit', doc: "Origin line of the audit log's signed checkpoints (a name unique to this installation)." },
  KYC_AUDIT_SIGNING_KEY_FILE: {
    kind: 'path',
    default: '$DATA_DIR/secrets/audit-signing.key',
    secretFile: true,
    doc: 'Ed25519 key signing audit checkpoints (created on first start if missing; keep it outside the database backups).',
  },
  KYC_AUDIT_CHECKPOINT_DIR: { kind: 'path', default: '$DATA_DIR/audit/checkpoints', doc: 'Append-only folder of signed checkpoints, to ship to WORM storage or a SIEM.' },
  KYC_AUDIT_CHECKPOINTER: {
    kind: 'enum',
    default: 'appliance',
    values: ['appliance', 'worker'],
    doc: 'Which process loads the signing key and writes checkpoints: `appliance` (one process, as in make dev) or `worker` (separate services: the appliance never reads the signing key and serves the verifier key from the checkpoint folder). Set the same value for both.',
  },
  KYC_AUDIT_CHECKPOINT_EVERY_EVENTS: { kind: 'int', default: '1000', min: 1, max: 10000000, doc: 'Write a checkpoint after this many new events...' },
  KYC_AUDIT_CHECKPOINT_EVERY_SECONDS: { kind: 'int', default: '60', min: 1, max: 86400, doc: '...or after this many seconds with new events.' },
  KYC_TSA_URL: {
    kind: 'url',
    default: null,
    doc: "The institution's RFC 3161 time-stamping authority (http or https). Set: every signed audit checkpoint gets a timestamp token beside it (`<checkpoint>.tst`); a TSA that is down delays tokens, never checkpoints. Unset: no timestamps.",
  },
  KYC_TSA_CERT_FILE: {
    kind: 'path',
    default: null,
    doc: "The TSA's certificate(s), PEM. Set: each token is verified before it is stored (signature, certificate, nonce); give the same file to `kyc-audit verify --tsa-cert`.",
  },
  KYC_TSA_CA_FILE: { kind: 'path', default: null, doc: "CA certificate(s) (PEM) an https TSA's server certificate must chain to. Unset: the system trust store." },
  KYC_INVITATION_TTL_MINUTES: { kind: 'int', default: '30', min: 1, max: 10080, doc: 'How long an invitation link stays valid.' },
  KYC_INVITATION_CODE_ATTEMPTS: { kind: 'int', default: '5', min: 1, max: 20, doc: 'Wrong 6-digit codes allowed before an invitation locks.' },
  KYC_WORKER_IN_PROCESS: {
    kind: 'bool',
    default: 'true',
    doc: 'Run the background worker (sealing recordings) inside the appliance process; set false when kyc-worker runs as its own service.',
  },
  KYC_JANUS_WS_URL: { kind: 'url', default: null, doc: 'Janus WebSocket API (loopback only), e.g. ws://127.0.0.1:8288. Unset: live calls are not configured.' },
  KYC_JANUS_ADMIN_SECRET_FILE: { kind: 'path', default: null, secretFile: true, doc: 'Janus admin API secret (mode 0600).' },
  KYC_JANUS_ROOM_KEY_FILE: {
    kind: 'path',
    default: null,
    secretFile: true,
    doc: "The VideoRoom admin key (mode 0600) the appliance creates rooms with; the same file renders Janus's config.",
  },
  KYC_JANUS_EVENTS_SECRET_FILE: {
    kind: 'path',
    default: null,
    secretFile: true,
    doc: "Password (mode 0600) Janus's event handler sends (HTTP basic auth, user `janus`) when it POSTs media statistics to `/internal/janus-events` on the metrics listener (KYC_METRICS_LISTEN); render Janus with the same file (`kyc-janus render --events-secret-file`). Unset: Janus events are refused.",
  },
  KYC_MEDIA_INTERFACE: { kind: 'string', default: null, doc: 'Network interface Janus gathers ICE candidates on (e.g. ens192).' },
  KYC_SIGNALING_SOCKETS_PER_ADDRESS: {
    kind: 'int',
    default: '256',
    min: 1,
    max: 100000,
    doc: "Call (signaling) sockets open at once from one client address; beyond it new ones are refused (close 1013, retried later). A branch's tellers may share one address behind its proxy. Per party of a session at most 4 are open: a newer one retires the oldest.",
  },
  KYC_RECORDINGS_DIR: {
    kind: 'path',
    default: '$DATA_DIR/recordings',
    doc: "Where Janus writes each session's .mjr files (<dir>/<sessionId>/); private to the appliance's user (0700, or see KYC_DIR_GROUP_ACCESS) and on the same filesystem as the archive.",
  },
  KYC_DIR_GROUP_ACCESS: {
    kind: 'bool',
    default: 'false',
    doc: "Separate OS users (systemd units): per-session recording folders are created setgid 2770 (Janus writes, the worker reads and deletes, through the spool's group); sealed archive folders 2750 with 0640 files and KEKs 0750/0640, readable by the archive's group (the appliance); the worker leaves the modes of the spool and archive folders to the installer. Off: everything owner-only (0700/0600).",
  },
  KYC_ARCHIVE_DIR: { kind: 'path', default: '$DATA_DIR/archive', doc: 'Sealed recordings: one folder per recording with encrypted media, the encrypted manifest and the wrapped data key.' },
  KYC_KEK_DIR: {
    kind: 'path',
    default: '$DATA_DIR/secrets/kek',
    doc: 'Key-encryption keys (<kid>.kek, 0600) and `current`; created with a first KEK on first start. Rotate with `kyc-archive rotate-kek`, then `kyc-archive rewrap`; keep a backup offline.',
  },
  KYC_KEK_PROVIDER: {
    kind: 'enum',
    default: 'file',
    values: ['file', 'pkcs11'],
    doc: 'Where new data keys are wrapped: `file` (KEKs in KYC_KEK_DIR) or `pkcs11` (an AES-256 key inside an HSM token, never leaving it). Data keys wrapped by either are unwrapped by whichever holds their kid, so `kyc-archive rewrap` can move everything across in both directions.',
  },
  KYC_PKCS11_MODULE: {
    kind: 'path',
    default: null,
    doc: "The HSM's PKCS#11 module (.so), e.g. /usr/lib/softhsm/libsofthsm2.so. Required with KYC_KEK_PROVIDER=pkcs11; with `file`, set all four KYC_PKCS11_* keys to still unwrap data keys the token holds (migrating back), or none.",
  },
  KYC_PKCS11_TOKEN_LABEL: { kind: 'string', default: null, doc: 'Label of the token holding the KEKs.' },
  KYC_PKCS11_PIN_FILE: {
    kind: 'path',
    default: null,
    doc: "File holding the token's user PIN: mode 0600 (0640 with KYC_DIR_GROUP_ACCESS, never writable by the group nor readable by others).",
  },
  KYC_PKCS11_KEY_LABEL: {
    kind: 'string',
    default: null,
    doc: "Label (CKA_LABEL) of the token's current KEK, until `kyc-archive rotate-kek` records a newer one in KYC_KEK_DIR/hsm-current. Letters, digits, `.`, `_`, `-`.",
  },
  KYC_FFMPEG_PATH: { kind: 'string', default: '/usr/bin/ffmpeg', doc: "ffmpeg binary (Debian's)." },
  KYC_FFPROBE_PATH: { kind: 'string', default: '/usr/bin/ffprobe', doc: "ffprobe binary (Debian's)." },
  KYC_DEGRADE_LOSS_PCT: {
    kind: 'int',
    default: '10',
    min: 1,
    max: 100,
    doc: "Degrade, don't drop: packet loss (percent) of either party's media, sustained for KYC_DEGRADE_DOWN_SECONDS, above which the call stops video and goes on with audio only.",
  },
  KYC_DEGRADE_MIN_KBPS: {
    kind: 'int',
    default: '150',
    min: 0,
    max: 100000,
    doc: "A party's browser bandwidth estimate (kbit/s, availableOutgoingBitrate) under which, for KYC_DEGRADE_DOWN_SECONDS, the call steps down to audio only. 0: the estimate is not used.",
  },
  KYC_DEGRADE_DOWN_SECONDS: { kind: 'int', default: '6', min: 1, max: 600, doc: 'How long a bad link must last before the call steps down to audio only.' },
  KYC_DEGRADE_SLOWLINKS: { kind: 'int', default: '3', min: 1, max: 1000, doc: 'Janus slowlink reports within KYC_DEGRADE_DOWN_SECONDS that step the call down to audio only at once.' },
  KYC_DEGRADE_UP_LOSS_PCT: { kind: 'int', default: '3', min: 0, max: 100, doc: 'Loss (percent) at most which a link counts as recovered (hysteresis: below KYC_DEGRADE_LOSS_PCT).' },
  KYC_DEGRADE_UP_SECONDS: {
    kind: 'int',
    default: '20',
    min: 1,
    max: 3600,
    doc: 'How long every link must stay recovered before video comes back (doubled, up to 8 times, when a call falls back soon after stepping up).',
  },
  KYC_DEGRADE_CHAT_AFTER_SECONDS: { kind: 'int', default: '5', min: 1, max: 600, doc: "How long a party's media may stop before both are told to go on in the chat while it reconnects." },
  KYC_JANUS_PP_REC_PATH: { kind: 'string', default: '/usr/bin/janus-pp-rec', doc: 'janus-pp-rec binary (Debian package janus-tools).' },
  KYC_SEAL_CONCURRENCY: { kind: 'int', default: '1', min: 1, max: 16, doc: 'Recordings one worker process seals at the same time.' },
  KYC_SEAL_RETRY_LIMIT: { kind: 'int', default: '8', min: 0, max: 100, doc: 'Retries of a failed seal job before it stays failed (shown on the admin status page).' },
  KYC_SEAL_RETRY_DELAY_SECONDS: { kind: 'int', default: '30', min: 1, max: 86400, doc: 'First retry delay of a failed seal job; it doubles with each retry.' },
  KYC_SEAL_RECONCILE_SECONDS: { kind: 'int', default: '30', min: 1, max: 3600, doc: 'How often a worker looks for ended sessions without a seal job and for jobs of workers that died.' },
  KYC_SEAL_ORPHAN_SECONDS: {
    kind: 'int',
    default: '20',
    min: 1,
    max: 3600,
    doc: 'A running seal job whose worker holds no lock for this long is taken as orphaned (worker killed) and retried.',
  },
  KYC_RETENTION_RUN_HOURS: {
    kind: 'int',
    default: '24',
    min: 0,
    max: 720,
    doc: 'A worker queues a retention run (crypto-shredding of what has expired, not held) when none started in this many hours; checked hourly. 0: only runs an administrator queues (POST /api/admin/retention/run).',
  },
  KYC_RECORDING_SETTLE_SECONDS: {
    kind: 'int',
    default: '15',
    min: 0,
    max: 600,
    doc: 'How long a seal waits for Janus to close a recording still being written (.mjr.tmp) before sealing it as it is and flagging it.',
  },
  KYC_FACE_ENGINE: {
    kind: 'enum',
    default: 'builtin',
    values: ['builtin', 'hook'],
    doc: "Face verification engine: the built-in offline model, or the institution's engine behind KYC_FACE_HOOK_URL (the built-in model still checks liveness frames).",
  },
  KYC_FACE_MODEL_DIR: { kind: 'path', default: null, doc: 'Folder with the face-api model files. Unset: the model/ folder of the installed @vladmandic/face-api package.' },
  KYC_FACE_WORKERS: {
    kind: 'int',
    default: '2',
    min: 1,
    max: 16,
    doc: 'Worker threads running the built-in face model (each loads its own copy, ~60 MB). A comparison analyses its two images on two threads at once, so 2 halves its latency on an idle 2-core host; 1 saves memory.',
  },
  KYC_FACE_MATCH_DISTANCE: {
    kind: 'number',
    default: '0.5',
    min: 0,
    max: 2,
    doc: 'Built-in engine: descriptor distance below which two faces match (score = 1 − distance; calibrate per site with POST /api/face/compare).',
  },
  KYC_FACE_REVIEW_DISTANCE: {
    kind: 'number',
    default: '0.6',
    min: 0,
    max: 2,
    doc: 'Built-in engine: distance below which (and at or above the match distance) the decision is "review"; at or above it, "no_match".',
  },
  KYC_FACE_LIVENESS_YAW: {
    kind: 'number',
    default: '0.12',
    min: 0.01,
    max: 1,
    doc: "Liveness: head-turn change (nose offset from the eyes' midpoint, in eye distances) a turn challenge needs.",
  },
  KYC_FACE_HOOK_URL: { kind: 'url', default: null, doc: "The institution's face-verification endpoint (https). Required with KYC_FACE_ENGINE=hook." },
  KYC_FACE_HOOK_SECRET_FILE: { kind: 'path', default: null, secretFile: true, doc: "HMAC-SHA256 key for the hook's X-KYC-Signature (mode 0600). Required with KYC_FACE_HOOK_URL." },
  KYC_FACE_HOOK_CA_FILE: { kind: 'path', default: null, doc: "CA certificate(s) (PEM) the hook's server certificate must chain to. Unset: the system trust store." },
  KYC_FACE_HOOK_TIMEOUT_MS: { kind: 'int', default: '5000', min: 100, max: 60000, doc: 'Timeout of one hook request; a timeout gives "review", never "match".' },
  KYC_FACE_HOOK_RETRIES: { kind: 'int', default: '2', min: 0, max: 5, doc: 'Retries of a failed hook request (network error, timeout, 5xx) before the decision falls back to "review".' },
  KYC_FACE_MAX_IMAGE_BYTES: { kind: 'int', default: '6291456', min: 65536, max: 8388608, doc: 'Largest image POST /api/face/compare accepts (decoded bytes); larger → 413.' },
  KYC_OCR_TESSERACT_PATH: { kind: 'string', default: '/usr/bin/tesseract', doc: "tesseract binary (Debian package tesseract-ocr) reading the ID number from the ID card's front still." },
  KYC_LIVENESS_CHALLENGES: {
    kind: 'list',
    default: 'turn-left,turn-right,open-mouth,read-digits',
    doc: "Challenge kinds liveness draws 2–3 from at random per session (comma-separated, at least two of turn-left, turn-right, blink, open-mouth, read-digits). Blink is measured from the eye openings' pixels (iris dark when open, lid skin when closed) and shown passing on prepared frames only (no licensed photo of real closed eyes was at hand): it is offered, not in the default.",
  },
  KYC_SERVICE_TICKET_TTL_MINUTES: {
    kind: 'int',
    default: '120',
    min: 5,
    max: 1440,
    doc: "Customer-initiated service: how long a visit's ticket (bound to the browser that asked for it) stays valid before a teller takes it; a visit still waiting then leaves the queue.",
  },
  KYC_SERVICE_VISITS_PER_MINUTE: {
    kind: 'int',
    default: '10',
    min: 1,
    max: 100000,
    doc: 'Customer-initiated service: new visits one client address may start per minute (POST /api/service/visits); more → 429.',
  },
  KYC_SERVICE_FRAME_ANCESTORS: {
    kind: 'list',
    default: '',
    doc: 'Origins (https://host[:port], comma-separated) allowed to embed the /service page in an iframe (CSP frame-ancestors for /service and the join page a visit continues on; the device cookie then becomes SameSite=None, Partitioned). Empty: no page can be framed.',
  },
  KYC_SERVICE_VISIT_RETENTION_DAYS: {
    kind: 'int',
    default: '90',
    min: 1,
    max: 3650,
    doc: "Customer-initiated service: days a finished visit's personal data (the name and phone typed, the conversation with the assistant, a rating's comment) is kept; then its key is destroyed (crypto-shredded, audited). What a teller carried into a case follows the case's retention; the report's figures stay.",
  },
  KYC_QUEUE_ROUTING: {
    kind: 'enum',
    default: 'random',
    values: ['random', 'longest_idle'],
    doc: 'How a waiting customer is offered to a teller: `random` among the eligible available tellers (BaFin: requests distributed at random), or `longest_idle` (available the longest).',
  },
  KYC_QUEUE_OFFER_TIMEOUT_SECONDS: {
    kind: 'int',
    default: '30',
    min: 1,
    max: 600,
    doc: 'How long a teller has to accept an offered customer before the offer goes to the next eligible teller.',
  },
  KYC_ASSISTANT_URL: {
    kind: 'url',
    default: null,
    doc: "Optional: the site's own assistant service (http or https). When set, each question the offline retrieval could answer is POSTed with the retrieved passages as JSON {question, productCode, lang, passages[]}; a reply {text} in time replaces the offline answer (the citation stays). Failure or timeout: the offline answer.",
  },
  KYC_ASSISTANT_TIMEOUT_MS: { kind: 'int', default: '3000', min: 100, max: 30000, doc: 'Time box of one request to KYC_ASSISTANT_URL.' },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;
